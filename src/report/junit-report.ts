/**
 * JUnit XML: one testcase per SLO (a failure lists each breached env/path with the measured value
 * and the objective), plus a `run` testcase that errors when the run itself failed, so CI test
 * tabs show "SLO breached" and "harness broken" differently.
 */
import type { SloResult } from '../slo/index.js';
import { resultsBySlo, type CanaryReport } from './report-model.js';
import { escapeXml } from './xml-text.js';

function scopeOf(result: SloResult): string {
  return [result.env && `env=${result.env}`, result.path && `path=${result.path}`].filter(Boolean).join(' ');
}

export function renderJUnit(report: CanaryReport): string {
  const suiteName = `canary ${report.run.kind}${report.run.scenario ? ` ${report.run.scenario}` : ''}${
    report.run.env ? ` (${report.run.env})` : ''
  }`;
  const cases: string[] = [];
  let failures = 0;
  let errors = 0;
  let skipped = 0;
  const seconds = report.run.durationSeconds.toFixed(3);

  const runCase = [`    <testcase classname="canary.run" name="run completes" time="${seconds}">`];
  if (report.run.failure) {
    errors++;
    const { code, message, hint } = report.run.failure;
    runCase.push(
      `      <error type="${escapeXml(code)}" message="${escapeXml(message)}">${escapeXml(
        `${code}: ${message}${hint ? `\nfix: ${hint}` : ''}`,
      )}</error>`,
    );
  }
  if (report.run.partial) {
    runCase.push(`      <system-out>${escapeXml(`partial run: ${report.run.stopReason}`)}</system-out>`);
  }
  runCase.push('    </testcase>');
  cases.push(runCase.join('\n'));

  for (const [name, results] of resultsBySlo(report.slo)) {
    const breached = results.filter((result) => result.status === 'breached');
    const allNoData = results.every((result) => result.status === 'no_data');
    const lines = [`    <testcase classname="canary.slo" name="${escapeXml(name)}" time="0">`];
    if (breached.length > 0) {
      failures++;
      const first = breached[0] as SloResult;
      const message = `${name} breached: ${first.summary}${breached.length > 1 ? ` (+${breached.length - 1} more)` : ''}`;
      const body = breached.map((result) => `${scopeOf(result) || 'all'}: ${result.summary}`).join('\n');
      lines.push(
        `      <failure type="SloBreached" message="${escapeXml(message)}">${escapeXml(body)}</failure>`,
      );
    } else if (allNoData) {
      skipped++;
      lines.push(
        `      <skipped message="${escapeXml(`${name}: no data — nothing was measured for this SLI`)}"/>`,
      );
    }
    lines.push(
      `      <system-out>${escapeXml(results.map((r) => `${scopeOf(r) || 'all'}: ${r.status}: ${r.summary}`).join('\n'))}</system-out>`,
    );
    lines.push('    </testcase>');
    cases.push(lines.join('\n'));
  }

  const tests = cases.length;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="realtime-canary" tests="${tests}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${seconds}">`,
    `  <testsuite name="${escapeXml(suiteName)}" tests="${tests}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${seconds}" timestamp="${escapeXml(report.run.startedAt)}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
