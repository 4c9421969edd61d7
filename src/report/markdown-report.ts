/**
 * Markdown for a CI job summary ($GITHUB_STEP_SUMMARY) or a PR comment: the verdict first, then
 * the SLO table, per-path delivery totals, the breaking point if one was searched for.
 */
import type { SloResult } from '../slo/index.js';
import type { CanaryReport, RunStatus } from './report-model.js';

const STATUS_LINE: Record<RunStatus, string> = {
  passed: '✅ **Passed** — every SLO met',
  slo_breached: '❌ **SLO breached**',
  run_failed: '⚠️ **Run failed** — no verdict can be trusted',
};

const RESULT_MARK: Record<SloResult['status'], string> = {
  met: '✅ met',
  breached: '❌ breached',
  no_data: '➖ no data',
};

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function pct(value: number | null): string {
  return value === null ? '–' : `${(value * 100).toFixed(value >= 0.99 ? 2 : 1)}%`;
}

function ms(value: number | undefined): string {
  return value === undefined ? '–' : `${Math.round(value)} ms`;
}

export function renderMarkdown(report: CanaryReport): string {
  const { run } = report;
  const title = run.kind === 'load' ? `Load test \`${run.scenario ?? '?'}\`` : 'SLO check';
  const lines: string[] = [`## Realtime Canary — ${title}${run.env ? ` on \`${run.env}\`` : ''}`, ''];
  lines.push(STATUS_LINE[run.status] + ` (exit ${run.exitCode})`, '');
  if (run.partial)
    lines.push(`> **Partial run** (${run.stopReason}): the numbers cover only part of the plan.`, '');
  if (run.failure) {
    lines.push(`> **${run.failure.code}**: ${run.failure.message}`);
    if (run.failure.hint) lines.push(`> fix: ${run.failure.hint}`);
    lines.push('');
  }
  lines.push(
    `${run.executor ? `Executor \`${run.executor}\` · ` : ''}${run.durationSeconds.toFixed(1)} s · ` +
      `${report.totals.published} events published · peak ${report.totals.peakSubscribers} subscribers`,
    '',
  );

  if (report.slo && report.slo.results.length > 0) {
    lines.push(
      '### SLOs',
      '',
      '| SLO | Scope | Measured | Objective | Budget left | Result |',
      '|---|---|---|---|---|---|',
    );
    for (const result of report.slo.results) {
      const scope = [result.env, result.path].filter(Boolean).join(' / ') || 'all';
      const objective =
        result.kind === 'headroom'
          ? pct(result.joinSuccessRequired ?? result.objective)
          : pct(result.objective);
      lines.push(
        `| ${cell(result.slo)} | ${cell(scope)} | ${cell(result.summary)} | ${objective} | ${pct(result.budgetRemaining)} | ${RESULT_MARK[result.status]} |`,
      );
    }
    lines.push('', `Source: ${report.slo.source}`, '');
  }

  const paths = Object.entries(report.totals.paths);
  if (paths.length > 0) {
    lines.push(
      '### Delivery by path',
      '',
      '| Path | Delivered | Late | Dropped | p50 | p95 | p99 | max |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const [path, totals] of paths) {
      const latency = totals.latencyMs;
      lines.push(
        `| ${path} | ${totals.delivered} | ${totals.late} | ${totals.dropped} | ${ms(latency?.p50)} | ${ms(latency?.p95)} | ${ms(latency?.p99)} | ${ms(latency?.max)} |`,
      );
    }
    lines.push('');
    const untrusted = paths.reduce((sum, [, totals]) => sum + (totals.untrusted ?? 0), 0);
    if (untrusted > 0) {
      lines.push(
        `${untrusted} outcome(s) were measured while the harness was overloaded; their latency is left out.`,
        '',
      );
    }
  }

  if (report.breakingPoint) {
    const point = report.breakingPoint;
    lines.push(
      '### Breaking point',
      '',
      `**${point.subscribers} concurrent subscribers** (broke at level ${point.level}) — cause: **${point.cause}**` +
        (point.planLimit !== undefined ? ` · plan limit ${point.planLimit}` : ''),
      '',
      `${point.detail}`,
      '',
    );
  }
  return lines.join('\n');
}
