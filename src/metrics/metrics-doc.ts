/**
 * Renders docs/metrics.md from the catalogue — and the local target's own registry, which the
 * `generate` command reads and hands in — so the reference can never drift from the code.
 * `canary generate --check` regenerates it and compares; update it with `npm run generate`.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { allMetrics, type MetricSpec } from './catalog.js';

const HEADER = `<!-- Generated from src/metrics/catalog.ts and the local target's registry — do not edit. Regenerate: npm run generate -->

# Metrics

Every metric the harness exports, as declared in \`src/metrics/catalog.ts\`. All series are served
on the exporter's \`/metrics\`. Labels are low-cardinality by design: \`path\` is one of
\`postgres_changes\`, \`broadcast\`, \`polling\`; \`outcome\` one of \`delivered\`, \`late\`, \`dropped\`;
\`client\` one of \`supabase-js\`, \`lean\`; \`reason\` one of a fixed set of mapped Supabase errors.
`;

const ENV_LABEL = `
## The \`env\` label and \`honor_labels\`

Every canary series carries \`env\`, the environment the canary measured (\`environments/*.yaml\`).
Many scrape setups attach an \`env\` target label of their own (Kubernetes relabeling, file service
discovery, \`static_configs\` labels) naming where the _canary_ runs. Prometheus keeps the scraped
label only with \`honor_labels: true\`; without it the canary's label is renamed \`exported_env\` and
the generated rules and dashboards, which select and group by \`env\`, stop matching. Every shipped
scrape config (\`prometheus/prometheus.yml\`, the Kubernetes PodMonitor and scrape job in
\`deploy/kubernetes/monitoring/\`) sets \`honor_labels: true\`; add it to yours. A test scrapes a
canary with such a target label through real Prometheus and checks that the rules still match.
`;

const FOOTER = `
## Pushed runs

A run started with \`--out prometheus-rw=…\` or \`--out pushgateway=…\` (\`canary load\`, \`canary run\`)
pushes these same series with more labels: \`run_id\` (\`--run-id\`, \`$CANARY_RUN_ID\` or a
timestamp), \`scenario\` (load runs), \`job="canary"\` and, by remote write, \`instance\` (the host
name). See docs/load-testing.md.

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

export interface MetricsDocOptions {
  /** The local target's own metrics (\`target_*\`, served at the target's /metrics). */
  readonly target?: readonly MetricSpec[];
}

function catalogueTable(metrics: readonly MetricSpec[]): string {
  return [
    '| name | type | unit | labels | help |',
    '| --- | --- | --- | --- | --- |',
    ...metrics.map(row),
  ].join('\n');
}

const TARGET_INTRO = `The local target (\`canary target\`, or the embedded target of a \`local\` environment) serves
its own registry at its \`GET /metrics\`: what it really delivered, refused and injected, to set next
to what the harness measured. They describe the target, so they are declared with it
(\`src/local-target/target-metrics.ts\`) and listed here from its registry.`;

export function renderMetricsDoc(
  metrics: readonly MetricSpec[] = allMetrics,
  options: MetricsDocOptions = {},
): string {
  const histograms = metrics.filter((spec) => spec.type === 'histogram');
  const buckets = [
    '| histogram | unit | bucket upper bounds |',
    '| --- | --- | --- |',
    ...histograms.map((spec) => `| \`${spec.name}\` | ${spec.unit} | ${(spec.buckets ?? []).join(', ')} |`),
  ].join('\n');
  const target =
    options.target && options.target.length > 0
      ? `\n## Local target metrics\n\n${TARGET_INTRO}\n\n${catalogueTable(options.target)}\n`
      : '';
  return `${HEADER}\n## Catalogue\n\n${catalogueTable(metrics)}\n\n## Histogram buckets\n\n${buckets}\n${ENV_LABEL}${target}${FOOTER}`;
}

/** Where the generated reference lives, relative to this module (works from src/ and dist/). */
export function metricsDocPath(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'metrics.md');
}
