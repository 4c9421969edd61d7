/**
 * Renders docs/metrics.md from the catalogue, so the reference can never drift from the code.
 * A test regenerates it and compares; to update the file after changing catalog.ts run
 * `npx tsx src/metrics/metrics-doc.ts`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { allMetrics, type MetricSpec } from './catalog.js';

const HEADER = `<!-- Generated from src/metrics/catalog.ts — do not edit. Regenerate: npx tsx src/metrics/metrics-doc.ts -->

# Metrics

Every metric the harness exports, as declared in \`src/metrics/catalog.ts\`. All series are served
on the exporter's \`/metrics\`. Labels are low-cardinality by design: \`path\` is one of
\`postgres_changes\`, \`broadcast\`, \`polling\`; \`outcome\` one of \`delivered\`, \`late\`, \`dropped\`;
\`client\` one of \`supabase-js\`, \`lean\`; \`reason\` one of a fixed set of mapped Supabase errors.
`;

const FOOTER = `
With \`createMetrics({ defaultMetrics: true })\` the registry also carries prom-client's process and
Node.js metrics (\`process_cpu_seconds_total\`, \`process_resident_memory_bytes\`,
\`nodejs_eventloop_lag_seconds\`, \`nodejs_heap_size_used_bytes\`, …), unprefixed as Prometheus
convention expects.
`;

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function row(spec: MetricSpec): string {
  const labels = spec.labels.length ? spec.labels.map((label) => `\`${label}\``).join(', ') : '—';
  return `| \`${spec.name}\` | ${spec.type} | ${spec.unit} | ${labels} | ${cell(spec.help)} |`;
}

export function renderMetricsDoc(metrics: readonly MetricSpec[] = allMetrics): string {
  const table = [
    '| name | type | unit | labels | help |',
    '| --- | --- | --- | --- | --- |',
    ...metrics.map(row),
  ].join('\n');
  const histograms = metrics.filter((spec) => spec.type === 'histogram');
  const buckets = [
    '| histogram | unit | bucket upper bounds |',
    '| --- | --- | --- |',
    ...histograms.map((spec) => `| \`${spec.name}\` | ${spec.unit} | ${(spec.buckets ?? []).join(', ')} |`),
  ].join('\n');
  return `${HEADER}\n## Catalogue\n\n${table}\n\n## Histogram buckets\n\n${buckets}\n${FOOTER}`;
}

/** Where the generated reference lives, relative to this module (works from src/ and dist/). */
export function metricsDocPath(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'metrics.md');
}

// Run directly (`npx tsx src/metrics/metrics-doc.ts`) it rewrites docs/metrics.md.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  fs.writeFileSync(metricsDocPath(), renderMetricsDoc());
  process.stdout.write(`wrote ${metricsDocPath()}\n`);
}
