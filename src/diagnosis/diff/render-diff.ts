/** Text, JSON, Markdown and self-contained HTML (inline SVG) renderings of a diff. */
import { DELIVERY_PATHS, type DeliveryPath } from '../../metrics/index.js';
import type { EnvEvidence, LatencyStats, PathEvidence } from './env-evidence.js';
import type { CauseRanking } from './rank-causes.js';

export interface DiffReport {
  version: 'canary.diff/v1';
  generatedAt: string;
  /** How the numbers were obtained: "probe 60s, 4 lean + 1 supabase-js per env" or "prometheus … range 1h". */
  method: string;
  baseline: EnvEvidence;
  suspect: EnvEvidence;
  ranking: CauseRanking;
}

const ms = (value: number | null | undefined) => (value == null ? '—' : `${Math.round(value)} ms`);
const pct = (value: number | null | undefined) => (value == null ? '—' : `${(value * 100).toFixed(1)} %`);

interface Row {
  label: string;
  a: string;
  b: string;
}

function pathRows(path: DeliveryPath, a: PathEvidence | undefined, b: PathEvidence | undefined): Row[] {
  const lat = (p: PathEvidence | undefined, key: 'p50' | 'p95' | 'p99') => ms(p?.latencyMs[key]);
  return [
    {
      label: `${path} latency p50 / p95 / p99`,
      a: `${lat(a, 'p50')} / ${lat(a, 'p95')} / ${lat(a, 'p99')}`,
      b: `${lat(b, 'p50')} / ${lat(b, 'p95')} / ${lat(b, 'p99')}`,
    },
    {
      label: `${path} delivered / late / dropped`,
      a: a ? `${a.delivered} / ${a.late} / ${a.dropped}` : '—',
      b: b ? `${b.delivered} / ${b.late} / ${b.dropped}` : '—',
    },
    { label: `${path} delivered ratio`, a: pct(a?.deliveredRatio), b: pct(b?.deliveredRatio) },
    {
      label: `${path} duplicates / out of order / missed in gaps`,
      a: a ? `${a.duplicates} / ${a.outOfOrder} / ${a.gapMissed}` : '—',
      b: b ? `${b.duplicates} / ${b.outOfOrder} / ${b.gapMissed}` : '—',
    },
  ];
}

function record(values: Record<string, number>): string {
  const entries = Object.entries(values);
  return entries.length === 0 ? 'none' : entries.map(([key, value]) => `${key} ${value}`).join(', ');
}

export function diffRows(report: DiffReport): Row[] {
  const { baseline: a, suspect: b } = report;
  const rows: Row[] = [{ label: 'events published', a: String(a.published), b: String(b.published) }];
  for (const path of DELIVERY_PATHS) {
    if (!a.paths[path] && !b.paths[path]) continue;
    rows.push(...pathRows(path, a.paths[path], b.paths[path]));
  }
  const order = (e: EnvEvidence) =>
    e.arrivalOrder
      ? `broadcast first ${pct(e.arrivalOrder.broadcastFirstRatio)}, spread p50 ${ms(e.arrivalOrder.medianSpreadMs)} (${e.arrivalOrder.pairs} pairs)`
      : '—';
  rows.push(
    { label: 'broadcast vs postgres_changes arrival', a: order(a), b: order(b) },
    {
      label: 'time to SUBSCRIBED p50 / p95',
      a: `${ms(a.subscription.timeToSubscribedMs.p50)} / ${ms(a.subscription.timeToSubscribedMs.p95)}`,
      b: `${ms(b.subscription.timeToSubscribedMs.p50)} / ${ms(b.subscription.timeToSubscribedMs.p95)}`,
    },
    ...(['tls', 'upgrade', 'join'] as const).map((phase) => ({
      label: `${phase === 'tls' ? 'TLS handshake' : phase === 'upgrade' ? 'websocket upgrade' : 'channel join'} p50 / p95`,
      a: phaseCell(a, phase),
      b: phaseCell(b, phase),
    })),
    {
      label: 'readiness gap p50',
      a: ms(a.subscription.readinessGapMs.p50),
      b: ms(b.subscription.readinessGapMs.p50),
    },
    {
      label: 'joins / SUBSCRIBED',
      a: `${a.subscription.joinAttempts} / ${a.subscription.subscribed}`,
      b: `${b.subscription.joinAttempts} / ${b.subscription.subscribed}`,
    },
    {
      label: 'subscription errors by reason',
      a: record(a.subscription.errorsByReason),
      b: record(b.subscription.errorsByReason),
    },
    { label: 'reconnects', a: String(a.subscription.reconnects), b: String(b.subscription.reconnects) },
    { label: 'zombie subscribers', a: String(a.subscription.zombies), b: String(b.subscription.zombies) },
    {
      label: 'polls / cacheable responses',
      a: `${a.polling.requests} / ${a.polling.cacheableResponses}`,
      b: `${b.polling.requests} / ${b.polling.cacheableResponses}`,
    },
    { label: 'queue staleness p50', a: ms(a.polling.stalenessMs.p50), b: ms(b.polling.stalenessMs.p50) },
    {
      label: 'peak subscribers / limit',
      a: `${a.connections.peak} / ${a.connections.limit ?? '—'}`,
      b: `${b.connections.peak} / ${b.connections.limit ?? '—'}`,
    },
  );
  return rows;
}

function verdictLines(report: DiffReport): string[] {
  const { ranking } = report;
  const polling = ranking.noiseBand.minPollingMs
    ? `; polling ±${ranking.noiseBand.minPollingMs} ms (one poll interval)`
    : '';
  const band = `noise band: latency ±max(${ranking.noiseBand.minLatencyMs} ms, ${ranking.noiseBand.relativeLatency * 100} % of ${ranking.baseline}'s p50); delivered ratio ±max(${ranking.noiseBand.minRatio * 100} points, 3 standard errors)${polling}`;
  if (ranking.withinNoise)
    return [`${ranking.baseline} and ${ranking.suspect} match within noise (${band}).`];
  const lines = [`Likely causes for ${ranking.suspect} vs ${ranking.baseline}, strongest first (${band}):`];
  ranking.causes.forEach((cause, index) => {
    lines.push(`${index + 1}. ${cause.title} [${cause.id}, ${cause.strength.toFixed(1)}× noise]`);
    for (const line of cause.evidence) lines.push(`   - ${line}`);
    lines.push(`   next: ${cause.next}`);
  });
  return lines;
}

export function renderDiffText(report: DiffReport): string {
  const rows = diffRows(report);
  const width = Math.max(...rows.map((row) => row.label.length));
  const widthA = Math.max(report.baseline.env.length, ...rows.map((row) => row.a.length));
  const lines = [`canary diff ${report.baseline.env} ${report.suspect.env} — ${report.method}`, ''];
  lines.push(`${''.padEnd(width)}  ${report.baseline.env.padEnd(widthA)}  ${report.suspect.env}`);
  for (const row of rows) lines.push(`${row.label.padEnd(width)}  ${row.a.padEnd(widthA)}  ${row.b}`);
  lines.push('', ...report.ranking.warnings.map((w) => `warning: ${w}`), ...verdictLines(report));
  return lines.join('\n') + '\n';
}

export function renderDiffJson(report: DiffReport): string {
  return JSON.stringify(report, null, 2) + '\n';
}

const cell = (text: string) => text.replaceAll('|', '\\|');

export function renderDiffMarkdown(report: DiffReport): string {
  const lines = [
    `## canary diff: \`${report.baseline.env}\` vs \`${report.suspect.env}\``,
    '',
    `_${report.method} — ${report.generatedAt}_`,
    '',
    `| | ${report.baseline.env} | ${report.suspect.env} |`,
    '| --- | --- | --- |',
    ...diffRows(report).map((row) => `| ${cell(row.label)} | ${cell(row.a)} | ${cell(row.b)} |`),
    '',
    ...report.ranking.warnings.map((w) => `> **warning:** ${w}`),
    ...verdictLines(report).map((line) => (line.startsWith('   ') ? `   ${line.trim()}` : line)),
  ];
  return lines.join('\n') + '\n';
}

const escapeHtml = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

const COLORS = ['#2563eb', '#dc2626'] as const;

/** Latency CDF of both environments for one path (exact samples), or p50/p95/p99 bars otherwise. */
function pathPlot(
  path: DeliveryPath,
  a: LatencyStats | undefined,
  b: LatencyStats | undefined,
  names: [string, string],
): string {
  const width = 420;
  const height = 220;
  const pad = 40;
  const stats = [a, b];
  const haveCdf = stats.every((s) => s?.cdf && s.cdf.length > 0);
  const maxMs = Math.max(
    1,
    ...stats.flatMap((s) => (haveCdf ? (s?.cdf ?? []) : [s?.p50 ?? 0, s?.p95 ?? 0, s?.p99 ?? 0])),
  );
  const x = (value: number) => pad + (value / maxMs) * (width - 2 * pad);
  const y = (fraction: number) => height - pad - fraction * (height - 2 * pad);
  const parts: string[] = [];
  if (haveCdf) {
    stats.forEach((s, index) => {
      const points = (s?.cdf ?? [])
        .map((value, i) => `${x(value).toFixed(1)},${y(i / 100).toFixed(1)}`)
        .join(' ');
      parts.push(
        `<polyline class="cdf" fill="none" stroke="${COLORS[index]}" stroke-width="2" points="${points}"/>`,
      );
    });
  } else {
    const keys = ['p50', 'p95', 'p99'] as const;
    const barWidth = (width - 2 * pad) / (keys.length * 3);
    keys.forEach((key, k) => {
      stats.forEach((s, index) => {
        const value = s?.[key] ?? 0;
        const barHeight = (value / maxMs) * (height - 2 * pad);
        const left = pad + (k * 3 + index) * barWidth;
        parts.push(
          `<rect class="bar" x="${left.toFixed(1)}" y="${(height - pad - barHeight).toFixed(1)}" width="${(barWidth * 0.9).toFixed(1)}" height="${barHeight.toFixed(1)}" fill="${COLORS[index]}"><title>${escapeHtml(`${names[index]} ${key} ${Math.round(value)} ms`)}</title></rect>`,
        );
      });
      parts.push(
        `<text x="${(pad + (k * 3 + 1) * barWidth).toFixed(1)}" y="${height - pad + 14}" text-anchor="middle">${key}</text>`,
      );
    });
  }
  return `<figure><figcaption>${escapeHtml(path)} — ${haveCdf ? 'latency CDF' : 'latency percentiles'} (0–${Math.round(maxMs)} ms)</figcaption>
<svg role="img" aria-label="${escapeHtml(path)} latency" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">
<line x1="${pad}" y1="${height - pad}" x2="${width - pad}" y2="${height - pad}" stroke="#888"/><line x1="${pad}" y1="${pad}" x2="${pad}" y2="${height - pad}" stroke="#888"/>
<text x="${width - pad}" y="${height - pad + 28}" text-anchor="end">${Math.round(maxMs)} ms</text>
${parts.join('\n')}
</svg></figure>`;
}

export function renderDiffHtml(report: DiffReport): string {
  const names: [string, string] = [report.baseline.env, report.suspect.env];
  const plots = DELIVERY_PATHS.filter((path) => report.baseline.paths[path] || report.suspect.paths[path])
    .map((path) =>
      pathPlot(path, report.baseline.paths[path]?.latencyMs, report.suspect.paths[path]?.latencyMs, names),
    )
    .join('\n');
  const rows = diffRows(report)
    .map(
      (row) =>
        `<tr><th scope="row">${escapeHtml(row.label)}</th><td>${escapeHtml(row.a)}</td><td>${escapeHtml(row.b)}</td></tr>`,
    )
    .join('\n');
  const { ranking } = report;
  const heading = verdictLines(report)[0] ?? '';
  const causes = ranking.causes
    .map(
      (cause) =>
        `<li><strong>${escapeHtml(cause.title)}</strong> <code>${cause.id}</code>, ${cause.strength.toFixed(1)}× noise` +
        `<ul>${cause.evidence.map((line) => `<li>${escapeHtml(line)}</li>`).join('')}</ul>` +
        `<p>next: ${escapeHtml(cause.next)}</p></li>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>canary diff ${escapeHtml(names.join(' vs '))}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;color:#111}table{border-collapse:collapse}th,td{border:1px solid #ddd;padding:4px 8px;text-align:left}
figure{display:inline-block;margin:1em}svg text{font-size:11px;fill:#444}.legend span{display:inline-block;margin-right:1em}.a{color:${COLORS[0]}}.b{color:${COLORS[1]}}</style></head>
<body><h1>canary diff: ${escapeHtml(names[0])} vs ${escapeHtml(names[1])}</h1>
<p>${escapeHtml(report.method)} — ${escapeHtml(report.generatedAt)}</p>
<h2>Verdict</h2>${ranking.warnings.map((w) => `<p><strong>warning:</strong> ${escapeHtml(w)}</p>`).join('')}
<p>${escapeHtml(heading)}</p>${causes ? `<ol>${causes}</ol>` : ''}
<h2>Latency by path</h2><p class="legend"><span class="a">■ ${escapeHtml(names[0])}</span><span class="b">■ ${escapeHtml(names[1])}</span></p>
${plots}
<h2>Side by side</h2><table><thead><tr><th></th><th scope="col">${escapeHtml(names[0])}</th><th scope="col">${escapeHtml(names[1])}</th></tr></thead><tbody>
${rows}
</tbody></table></body></html>
`;
}

/** One connection phase's p50 / p95; for tls also how many handshakes resumed a session. */
function phaseCell(e: EnvEvidence, phase: 'tls' | 'upgrade' | 'join'): string {
  const stats = e.connectionPhases.phasesMs[phase];
  if (stats.count === 0) return phase === 'tls' ? 'no TLS (ws://)' : '—';
  const cell = `${ms(stats.p50)} / ${ms(stats.p95)}`;
  const { tlsHandshakes, tlsResumed } = e.connectionPhases;
  return phase === 'tls' && tlsHandshakes > 0
    ? `${cell} (${Math.round((100 * tlsResumed) / tlsHandshakes)} % resumed)`
    : cell;
}
