/**
 * `canary generate [--check]`: writes every generated file — Prometheus rules from the SLO specs
 * and the metric catalogue, Grafana dashboards, the same rules and dashboards as Kubernetes objects
 * (deploy/kubernetes/canary/generated/), JSON Schemas of the config kinds (schemas/),
 * docs/metrics.md — or, with --check, regenerates
 * them in memory and exits 1 listing each file that differs, is missing, or is no longer generated.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { checkRunbookBase, renderAlertRules, type GeneratedFile } from '../../alerts/index.js';
import type * as DashboardsArea from '../../dashboards/index.js';
import { catalog, renderMetricsDoc, type MetricKey, type MetricSpec } from '../../metrics/index.js';
import { loadSloFile, type Slo } from '../../slo/index.js';
import { CanaryError, ExitCode, packagePath, repositoryWebUrl } from '../../shared/index.js';
import { createTargetMetrics } from '../../local-target/index.js';
import { JSON_SCHEMA_FILES, renderJsonSchema } from '../json-schemas.js';
import { KUBERNETES_GENERATED_DIR, renderKubernetesObjects } from '../kubernetes-objects.js';

const METRICS_DOC_PATH = 'docs/metrics.md';

/** Folders whose files are all generated: anything there that is not regenerated is stale. */
const GENERATED_DIRS = [
  { dir: 'prometheus/rules', suffix: '.yaml' },
  { dir: 'dashboards', suffix: '.json' },
  { dir: 'schemas', suffix: '.json' },
  { dir: KUBERNETES_GENERATED_DIR, suffix: '.yaml' },
] as const;

export interface GenerateInput {
  /** Repository root: slos/ is read from it and generated paths are relative to it. */
  readonly root: string;
  readonly catalog?: Readonly<Record<MetricKey, MetricSpec>>;
  /** Absolute URL of docs/runbooks.md; by default the one of the repository in package.json. */
  readonly runbookBase?: string;
}

/** docs/runbooks.md in the repository package.json names, on its default branch. */
export function defaultRunbookBase(): string | undefined {
  const repository = repositoryWebUrl();
  return repository === undefined ? undefined : `${repository}/blob/main/docs/runbooks.md`;
}

function runbookBaseFor(input: GenerateInput): string {
  const base = input.runbookBase ?? defaultRunbookBase();
  if (base === undefined) {
    throw new CanaryError('CLI_USAGE', 'generate needs an absolute runbook base URL', {
      hint: 'pass --runbook-base https://…/docs/runbooks.md, or set "repository" in package.json',
    });
  }
  try {
    return checkRunbookBase(base);
  } catch (error) {
    throw new CanaryError('CLI_USAGE', `--runbook-base: ${(error as Error).message}`, {
      hint: 'alerts are read in Slack and PagerDuty, where only an absolute link works',
    });
  }
}

/** The SLO specs in `root`/slos/, or the package's own slos/ when `root` has none. */
function loadSlos(root: string): Slo[] {
  const own = path.join(root, 'slos');
  const dir = fs.existsSync(own) ? own : packagePath('slos');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.yaml') || name.endsWith('.yml'))
    .sort()
    .flatMap((name) => loadSloFile(path.join(dir, name)).slos);
}

/**
 * The dashboards area builds on the Grafana foundation SDK, the largest dependency, so it is loaded
 * only here and every other command starts without it.
 */
async function loadDashboards(): Promise<typeof DashboardsArea> {
  try {
    return await import('../../dashboards/index.js');
  } catch (error) {
    throw new CanaryError('INTERNAL', 'cannot load the dashboard generator', {
      hint: 'reinstall the package (npm install realtime-canary) so @grafana/grafana-foundation-sdk is present',
      cause: error,
    });
  }
}

/** The local target's own metrics, read from a fresh target registry, for docs/metrics.md. */
export async function targetMetricSpecs(): Promise<MetricSpec[]> {
  const { registry } = createTargetMetrics();
  const types = new Map((await registry.getMetricsAsJSON()).map((metric) => [metric.name, metric.type]));
  return registry
    .getMetricsAsArray()
    .map((metric) => {
      const { name, help, labelNames } = metric as unknown as {
        name: string;
        help: string;
        labelNames: string[];
      };
      const type = String(types.get(name)) as MetricSpec['type'];
      const unit: MetricSpec['unit'] = name.endsWith('_bytes')
        ? 'bytes'
        : name.endsWith('_seconds')
          ? 'seconds'
          : 'count';
      return { name, type, help, unit, labels: [...labelNames] };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Every generated file with its content, in a stable order. */
export async function generatedFiles(input: GenerateInput): Promise<GeneratedFile[]> {
  const metrics = input.catalog ?? catalog;
  const slos = loadSlos(input.root);
  const runbookBase = runbookBaseFor(input);
  const dashboards = await loadDashboards();
  const files: GeneratedFile[] = [
    ...renderAlertRules({ catalog: metrics, slos, runbookBase }),
    ...dashboards.renderDashboards({ catalog: metrics, slos }),
  ];
  files.push(...renderKubernetesObjects(files));
  for (const schema of JSON_SCHEMA_FILES)
    files.push({ path: schema.path, content: renderJsonSchema(schema) });
  files.push({
    path: METRICS_DOC_PATH,
    content: renderMetricsDoc(Object.values(metrics), { target: await targetMetricSpecs() }),
  });
  return files;
}

export interface Drift {
  readonly path: string;
  readonly problem: 'differs' | 'missing' | 'stale';
}

/** Compares generated files with what is on disk under `root`. */
export function findDrift(root: string, files: readonly GeneratedFile[]): Drift[] {
  const drift: Drift[] = [];
  const expected = new Set(files.map((file) => file.path));
  for (const file of files) {
    const onDisk = path.join(root, file.path);
    if (!fs.existsSync(onDisk)) drift.push({ path: file.path, problem: 'missing' });
    else if (fs.readFileSync(onDisk, 'utf8') !== file.content)
      drift.push({ path: file.path, problem: 'differs' });
  }
  for (const { dir, suffix } of GENERATED_DIRS) {
    const absolute = path.join(root, dir);
    if (!fs.existsSync(absolute)) continue;
    for (const name of fs.readdirSync(absolute).sort()) {
      const relative = `${dir}/${name}`;
      if (name.endsWith(suffix) && !expected.has(relative)) drift.push({ path: relative, problem: 'stale' });
    }
  }
  return drift;
}

export function writeGenerated(root: string, files: readonly GeneratedFile[]): void {
  for (const file of files) {
    const target = path.join(root, file.path);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, file.content);
  }
  for (const stale of findDrift(root, files).filter((d) => d.problem === 'stale')) {
    fs.rmSync(path.join(root, stale.path));
  }
}

export function register(program: Command): void {
  program
    .command('generate')
    .description(
      'write the generated Prometheus rules, Grafana dashboards, their Kubernetes objects, JSON Schemas and docs/metrics.md',
    )
    .option(
      '--check',
      'regenerate in memory and exit 1, listing the files, if any committed file is out of date',
    )
    .option(
      '--root <dir>',
      'directory to write into (or check): reads its slos/ (else the shipped ones), writes prometheus/, ' +
        'dashboards/, schemas/, deploy/kubernetes/canary/ and docs/metrics.md',
      process.cwd(),
    )
    .option(
      '--runbook-base <url>',
      'absolute URL of docs/runbooks.md that alert runbook links point into ' +
        '(default: docs/runbooks.md of the repository in package.json)',
    )
    .action(async (options: { check?: boolean; root: string; runbookBase?: string }) => {
      const root = path.resolve(options.root);
      const files = await generatedFiles({
        root,
        ...(options.runbookBase === undefined ? {} : { runbookBase: options.runbookBase }),
      });
      if (!options.check) {
        writeGenerated(root, files);
        for (const file of files) process.stdout.write(`wrote ${file.path}\n`);
        return;
      }
      const drift = findDrift(root, files);
      if (drift.length === 0) {
        process.stdout.write(`generated files are up to date (${files.length} checked)\n`);
        return;
      }
      for (const d of drift) process.stderr.write(`${d.problem.padEnd(7)} ${d.path}\n`);
      process.stderr.write('run `npm run generate` and commit the result\n');
      // Exit 1 is the "a check failed" code (docs/errors.md); 2 stays for a generator that crashed.
      process.exitCode = ExitCode.SloBreached;
    });
}
