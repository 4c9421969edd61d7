/**
 * A self-contained HTML report: verdict, SLO table, per-path totals and three plots drawn as
 * inline SVG by svg-chart.ts — latency CDF per path, latency over time, subscribers and drops
 * over time. No scripts, no external requests.
 */
import type { CanaryReport } from './report-model.js';
import { cdfPoints, PATH_COLORS, renderLineChart, type ChartSeries } from './svg-chart.js';
import { escapeXml } from './xml-text.js';

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1000px;color:#1b1f24;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.status{display:inline-block;padding:4px 10px;border-radius:6px;font-weight:600;margin:8px 0}
.passed{background:#dafbe1;color:#116329}.slo_breached{background:#ffebe9;color:#a40e26}.run_failed{background:#fff8c5;color:#7d4e00}
.note{background:#f6f8fa;border-left:4px solid #d0d7de;padding:6px 10px;margin:8px 0}
table{border-collapse:collapse;width:100%;margin:6px 0}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
.met{color:#116329}.breached{color:#a40e26;font-weight:600}.no_data{color:#57606a}
svg.chart{max-width:100%;height:auto;display:block;margin:8px 0}
svg .title{font-weight:600;font-size:14px}svg .tick,svg .legend,svg .axis,svg .reference-label,svg .empty{font-size:11px;fill:#57606a}
svg .grid{stroke:#eaeef2}svg .frame{fill:none;stroke:#d0d7de}svg .series{fill:none;stroke-width:2}
svg .reference{stroke:#cf222e;stroke-dasharray:4 3}
.meta{color:#57606a}
`;

function ms(value: number | undefined): string {
  return value === undefined ? '–' : `${Math.round(value)}`;
}

function pct(value: number | null | undefined): string {
  return value === null || value === undefined ? '–' : `${(value * 100).toFixed(value >= 0.99 ? 2 : 1)}%`;
}

function latencyThresholdMs(report: CanaryReport): number | undefined {
  const seconds = report.slo?.results.find(
    (result) => result.thresholdSeconds !== undefined,
  )?.thresholdSeconds;
  return seconds === undefined ? undefined : seconds * 1000;
}

export function renderHtml(report: CanaryReport): string {
  const { run } = report;
  const title = `Realtime Canary — ${run.kind === 'load' ? `load test ${run.scenario ?? ''}` : 'SLO check'}${run.env ? ` on ${run.env}` : ''}`;
  const paths = Object.keys(report.latencySamplesMs).length
    ? Object.keys(report.latencySamplesMs)
    : Object.keys(report.totals.paths);
  const color = (path: string, index: number): string =>
    PATH_COLORS[path] ?? ['#9467bd', '#8c564b', '#e377c2'][index % 3] ?? '#333';
  const threshold = latencyThresholdMs(report);

  const cdf = renderLineChart({
    id: 'latency-cdf',
    title: 'Latency CDF per path',
    xLabel: 'publish → receive latency (ms, log scale)',
    yLabel: 'fraction of deliveries',
    xLog: true,
    yMax: 1,
    ...(threshold !== undefined ? { xReference: { value: threshold, label: `SLO ${threshold} ms` } } : {}),
    series: paths.map((path, index) => ({
      name: path,
      color: color(path, index),
      points: cdfPoints(report.latencySamplesMs[path] ?? []),
    })),
  });

  const overTime: ChartSeries[] = paths.flatMap((path, index) => [
    {
      name: `${path} p95`,
      color: color(path, index),
      points: report.timeline
        .filter((sample) => sample.latencyP95Ms[path] !== undefined)
        .map((sample) => [sample.t, sample.latencyP95Ms[path] as number] as const),
    },
  ]);
  const latencyChart = renderLineChart({
    id: 'latency-over-time',
    title: 'Latency over time (p95 per sampling interval)',
    xLabel: 'seconds since start',
    yLabel: 'latency (ms)',
    series: overTime,
    ...(threshold !== undefined ? { yReference: { value: threshold, label: `SLO ${threshold} ms` } } : {}),
  });

  let previousDropped = 0;
  const dropsPerInterval = report.timeline.map((sample) => {
    const point = [sample.t, sample.dropped - previousDropped] as const;
    previousDropped = sample.dropped;
    return point;
  });
  const planLimit = report.breakingPoint?.planLimit;
  const subscribersChart = renderLineChart({
    id: 'subscribers-over-time',
    title: 'Subscribers and drops over time',
    xLabel: 'seconds since start',
    yLabel: 'subscribers / events',
    series: [
      {
        name: 'subscribers wanted',
        color: '#8c959f',
        dashed: true,
        step: true,
        points: report.timeline.map((s) => [s.t, s.subscribersTarget] as const),
      },
      {
        name: 'subscribers connected',
        color: '#1f77b4',
        points: report.timeline.map((s) => [s.t, s.subscribersConnected] as const),
      },
      { name: 'dropped per interval', color: '#cf222e', step: true, points: dropsPerInterval },
    ],
    ...(planLimit !== undefined
      ? { yReference: { value: planLimit, label: `plan limit ${planLimit}` } }
      : {}),
  });

  const sloRows = (report.slo?.results ?? [])
    .map(
      (result) =>
        `<tr><td>${escapeXml(result.slo)}</td><td>${escapeXml([result.env, result.path].filter(Boolean).join(' / ') || 'all')}</td>` +
        `<td>${escapeXml(result.summary)}</td><td class="num">${pct(result.kind === 'headroom' ? (result.joinSuccessRequired ?? result.objective) : result.objective)}</td>` +
        `<td class="num">${pct(result.budgetRemaining)}</td><td class="${result.status}">${result.status.replace('_', ' ')}</td></tr>`,
    )
    .join('\n');
  const pathRows = Object.entries(report.totals.paths)
    .map(
      ([path, totals]) =>
        `<tr><td>${escapeXml(path)}</td><td class="num">${totals.delivered}</td><td class="num">${totals.late}</td>` +
        `<td class="num">${totals.dropped}</td><td class="num">${ms(totals.latencyMs?.p50)}</td><td class="num">${ms(totals.latencyMs?.p95)}</td>` +
        `<td class="num">${ms(totals.latencyMs?.p99)}</td><td class="num">${ms(totals.latencyMs?.max)}</td></tr>`,
    )
    .join('\n');

  const untrusted = Object.values(report.totals.paths).reduce(
    (sum, totals) => sum + (totals.untrusted ?? 0),
    0,
  );
  const untrustedNote =
    untrusted > 0
      ? `<p class="meta">${untrusted} outcome(s) were measured while the harness was overloaded; their latency is left out.</p>`
      : '';
  const notes: string[] = [];
  if (run.partial)
    notes.push(
      `<p class="note"><b>Partial run</b> (${escapeXml(run.stopReason)}): the numbers cover only part of the plan.</p>`,
    );
  if (run.failure) {
    notes.push(
      `<p class="note"><b>${escapeXml(run.failure.code)}</b>: ${escapeXml(run.failure.message)}${
        run.failure.hint ? `<br>fix: ${escapeXml(run.failure.hint)}` : ''
      }</p>`,
    );
  }
  const breaking = report.breakingPoint
    ? `<h2>Breaking point</h2><p><b>${report.breakingPoint.subscribers} concurrent subscribers</b> (broke at level ${report.breakingPoint.level}) — cause: <b>${escapeXml(report.breakingPoint.cause)}</b>${
        report.breakingPoint.planLimit !== undefined ? ` · plan limit ${report.breakingPoint.planLimit}` : ''
      }</p><p>${escapeXml(report.breakingPoint.detail)}</p>`
    : '';

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeXml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeXml(title)}</h1>
<p class="meta">${escapeXml(run.description ?? '')}</p>
<div class="status ${run.status}">${run.status.replace('_', ' ')} · exit ${run.exitCode}</div>
${notes.join('\n')}
<p class="meta">${escapeXml(run.startedAt)} → ${escapeXml(run.endedAt)} · ${run.durationSeconds.toFixed(1)} s${
    run.executor ? ` · executor ${escapeXml(run.executor)}` : ''
  } · ${report.totals.published} events published · peak ${report.totals.peakSubscribers} subscribers · stop: ${escapeXml(run.stopReason)}</p>
<h2>SLOs</h2>
${sloRows ? `<table><thead><tr><th>SLO</th><th>Scope</th><th>Measured</th><th>Objective</th><th>Budget left</th><th>Result</th></tr></thead><tbody>\n${sloRows}\n</tbody></table><p class="meta">Source: ${escapeXml(report.slo?.source ?? '')}</p>` : '<p class="meta">No SLOs were evaluated.</p>'}
${breaking}
<h2>Delivery by path</h2>
${pathRows ? `<table><thead><tr><th>Path</th><th>Delivered</th><th>Late</th><th>Dropped</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>max ms</th></tr></thead><tbody>\n${pathRows}\n</tbody></table>${untrustedNote}` : '<p class="meta">No deliveries were recorded.</p>'}
<h2>Plots</h2>
${cdf}
${latencyChart}
${subscribersChart}
<p class="meta">${escapeXml(report.generator.name)} ${escapeXml(report.generator.version)} · report schema ${escapeXml(report.schema)}</p>
</body>
</html>
`;
}
