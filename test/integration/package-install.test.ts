/**
 * The npm package as users get it: a fresh `npm pack` tarball installed into an empty directory,
 * then every command the README shows run there with `npx canary` — nothing read from the
 * checkout or the current directory except what the commands write — and the GitHub Action's
 * shell steps (action.yml) run against that install as a runner would. Loopback only, each command
 * bounded in time.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadCanaryConfig } from '../../src/config/index.js';
import { repoRoot, tempDir } from './load-support.js';
import { installInto, packCanary, runIn, type PackResult } from './package-support.js';

/** The packed tarball stays well below this; a leak (source maps, tests, node_modules) breaks it. */
const MAX_PACKED_BYTES = 600_000;
const MAX_UNPACKED_FILES = 400;
const SHIPPED_ROOTS = [
  'package.json',
  'README.md',
  'canary.yaml',
  'dist/',
  'migrations/',
  'probes/',
  'scenarios/',
  'slos/',
  'schemas/',
  'environments/',
];

let work: string;
let packed: PackResult;
let app: string;

const packageVersion = (
  JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

function canary(args: string[], timeoutMs: number, until?: (stdout: string) => boolean) {
  return runIn(app, 'npx', ['--no', '--', 'canary', ...args], { timeoutMs, ...(until ? { until } : {}) });
}

interface ActionStep {
  name?: string;
  id?: string;
  run?: string;
}

/** A `run:` step of the repository's action.yml, executed with bash in the install directory. */
function runStep(name: string, env: Record<string, string>) {
  const action = parse(fs.readFileSync(path.join(repoRoot, 'action.yml'), 'utf8')) as {
    runs: { steps: ActionStep[] };
  };
  const step = action.runs.steps.find((s) => s.name === name);
  expect(step?.run, `action.yml step ${name}`).toBeDefined();
  return runIn(app, 'bash', ['-e', '-c', step!.run!], {
    timeoutMs: 180_000,
    env: {
      PATH: `${path.join(app, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH ?? ''}`,
      ...env,
    },
  });
}

/** The action's load, job-summary and verdict steps, with the files GitHub gives a step. */
async function actionSteps(env: Record<string, string>) {
  const githubOutput = path.join(app, `github-output-${env.CANARY_SCENARIO}`);
  const stepSummary = path.join(app, `step-summary-${env.CANARY_SCENARIO}`);
  const files = { GITHUB_OUTPUT: githubOutput, GITHUB_STEP_SUMMARY: stepSummary };
  const load = await runStep('canary load', {
    ...files,
    CANARY_CONFIG_FILE: '',
    CANARY_ENV: '',
    CANARY_ALLOW_REMOTE: 'false',
    ...env,
  });
  expect(load.code, `${load.stdout}${load.stderr}`).toBe(0);
  const summaryStep = await runStep('Job summary', { ...files, CANARY_REPORT_DIR: env.CANARY_REPORT_DIR! });
  expect(summaryStep.code, summaryStep.stderr).toBe(0);
  const outputs = Object.fromEntries(
    fs
      .readFileSync(githubOutput, 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split('=', 2) as [string, string]),
  );
  const verdict = await runStep('Verdict', { CANARY_EXIT_CODE: outputs['exit-code'] ?? '' });
  return {
    outputs,
    verdict,
    summary: fs.readFileSync(stepSummary, 'utf8'),
    log: `${load.stdout}${load.stderr}`,
  };
}

beforeAll(() => {
  work = tempDir('package');
  packed = packCanary(work);
  app = installInto('package-app', [packed.tarball]);
}, 600_000);

afterAll(() => {
  for (const dir of [work, app]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

// Each command is bounded by its own timeout below; the test's budget covers it on a busy machine.
describe('the realtime-canary npm package', { timeout: 240_000 }, () => {
  it('packs only the built code and the files the CLI reads, within its size budget', () => {
    const paths = packed.files.map((file) => file.path);
    for (const file of paths) {
      expect(
        SHIPPED_ROOTS.some((root) => file === root || file.startsWith(root)),
        `${file} is not something the CLI needs`,
      ).toBe(true);
    }
    expect(paths.filter((file) => /\.(map|ts)$/.test(file) || file.includes('.test.'))).toEqual([]);
    for (const needed of [
      'dist/cli/main.js',
      'canary.yaml',
      'migrations/0001_roles_and_auth.sql',
      'probes/waiver-to-mechanic.yaml',
      'scenarios/smoke.yaml',
      'slos/delivery.yaml',
      'schemas/canary.schema.json',
    ]) {
      expect(paths, needed).toContain(needed);
    }
    const sourceFiles = fs
      .readdirSync(path.join(work, 'staging', 'src'), { recursive: true })
      .map(String)
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'));
    expect(paths.filter((file) => file.startsWith('dist/')).length).toBe(sourceFiles.length);
    expect(packed.size).toBeLessThan(MAX_PACKED_BYTES);
    expect(packed.files.length).toBeLessThan(MAX_UNPACKED_FILES);
  });

  it('installed into an empty directory, says its version and lists its commands', async () => {
    const version = await canary(['--version'], 60_000);
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe(packageVersion);
    const help = await canary(['--help'], 60_000);
    expect(help.code, help.stderr).toBe(0);
    for (const command of [
      'init',
      'generate',
      'target',
      'run',
      'load',
      'slo',
      'audit',
      'diff',
      'mechanics',
    ]) {
      expect(help.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    }
  });

  it('starts the local target from the installed package and prints its URL and new keys', async () => {
    // The bin npx runs, started directly so Ctrl-C (SIGINT) reaches the canary, not npx.
    const result = await runIn(
      app,
      path.join(app, 'node_modules', '.bin', 'canary'),
      ['target', '--port', '0'],
      {
        timeoutMs: 120_000,
        until: (out) => out.includes('SUPABASE_SECRET_KEY='),
      },
    );
    expect(result.signal, result.stderr).toBeNull();
    expect(result.code, result.stderr).toBe(0);
    const url = /^SUPABASE_URL=(http:\/\/127\.0\.0\.1:\d+)$/m.exec(result.stdout)?.[1];
    expect(url, result.stdout).toBeDefined();
    expect(result.stdout).toMatch(/^SUPABASE_PUBLISHABLE_KEY=sb_publishable_/m);
    expect(result.stderr).toContain('local target stopped');
  });

  it('runs the built-in default config for 12 s with every path delivered', async () => {
    const result = await canary(['run', '--duration', '12s', '--port', '0'], 150_000);
    expect(result.code, result.stderr).toBe(0);
    const summary = /^info +run summary .* paths=(\{.*\})$/m.exec(result.stderr)?.[1];
    expect(summary, result.stderr).toBeDefined();
    const paths = JSON.parse(summary!) as Record<string, { due: number; delivered: number }>;
    // The shipped probe measures Broadcast from Database too in the local environment.
    expect(Object.keys(paths).sort()).toEqual(['broadcast', 'db_broadcast', 'polling', 'postgres_changes']);
    for (const [name, counts] of Object.entries(paths)) {
      expect(counts.delivered, name).toBeGreaterThan(0);
    }
  });

  it('runs a shipped load scenario by name through the GitHub Action steps, which publish the summary and pass', async () => {
    const result = await actionSteps({ CANARY_SCENARIO: 'smoke', CANARY_REPORT_DIR: 'reports/smoke' });
    expect(result.outputs['exit-code'], result.log).toBe('0');
    expect(result.verdict.code, result.log).toBe(0);
    for (const file of ['report.json', 'junit.xml', 'summary.md', 'report.html']) {
      expect(fs.existsSync(path.join(app, 'reports', 'smoke', file)), file).toBe(true);
    }
    const report = JSON.parse(fs.readFileSync(path.join(app, 'reports', 'smoke', 'report.json'), 'utf8')) as {
      run: { scenario: string; status: string };
    };
    expect(report.run).toMatchObject({ scenario: 'smoke', status: 'passed' });
    expect(result.summary).toBe(fs.readFileSync(path.join(app, 'reports', 'smoke', 'summary.md'), 'utf8'));
  });

  it('fails the GitHub Action with exit 2, not the breach code 1, when the run itself cannot start', async () => {
    const result = await actionSteps({
      CANARY_SCENARIO: 'no-such-scenario',
      CANARY_REPORT_DIR: 'reports/none',
    });
    expect(result.outputs['exit-code'], result.log).toBe('2');
    expect(result.verdict.code).toBe(2);
    expect(result.verdict.stdout).toContain('title=Canary run failed');
    expect(result.summary).toContain('Run failed');
    expect(result.summary).toContain('CONFIG_NOT_FOUND');
    const breached = await runStep('Verdict', { CANARY_EXIT_CODE: '1' });
    expect(breached.code).toBe(1);
    expect(breached.stdout).toContain('title=SLO breached');
  });

  it('generates rules, dashboards, Kubernetes objects and schemas into a chosen directory, which then checks clean', async () => {
    const written = await canary(['generate', '--root', 'monitoring'], 120_000);
    expect(written.code, written.stderr).toBe(0);
    const out = path.join(app, 'monitoring');
    for (const file of [
      'prometheus/rules/canary-slo.rules.yaml',
      'dashboards/canary-overview.json',
      'deploy/kubernetes/canary/base/generated/prometheus-rule.yaml',
      'schemas/canary.schema.json',
    ]) {
      expect(fs.existsSync(path.join(out, file)), file).toBe(true);
    }
    const check = await canary(['generate', '--root', 'monitoring', '--check'], 120_000);
    expect(check.code, check.stderr).toBe(0);
  });

  it('init writes a starter config, a remote environment on the new keys and a probe, and never overwrites them', async () => {
    const dir = path.join(app, 'starter');
    fs.mkdirSync(dir);
    const first = await runIn(dir, 'npx', ['--no', '--', 'canary', 'init', '--env', 'prod-eu'], {
      timeoutMs: 60_000,
    });
    expect(first.code, first.stderr).toBe(0);
    const config = loadCanaryConfig(path.join(dir, 'canary.yaml'));
    expect(config.environments.map((env) => env.name)).toEqual(['local']);
    const remote = loadCanaryConfig(path.join(dir, 'environments', 'prod-eu.yaml'));
    const env = remote.environments[0]!;
    expect(env.remote?.publishableKeyEnv).toBe('PROD_EU_SUPABASE_PUBLISHABLE_KEY');
    expect(env.remote?.secretKeyEnv).toBe('PROD_EU_SUPABASE_SECRET_KEY');
    expect(env.mechanics).toMatchObject({ from: 'password' });
    const raw = parse(fs.readFileSync(path.join(dir, 'environments', 'prod-eu.yaml'), 'utf8')) as {
      environments: { remote: Record<string, unknown> }[];
    };
    expect(Object.keys(raw.environments[0]!.remote)).not.toContain('anonKeyEnv');
    const schemaRef = /\$schema=(\S+)/.exec(fs.readFileSync(path.join(dir, 'canary.yaml'), 'utf8'))?.[1];
    expect(fs.existsSync(path.resolve(dir, schemaRef!)), schemaRef).toBe(true);
    const before = fs.readFileSync(path.join(dir, 'canary.yaml'), 'utf8');
    fs.writeFileSync(path.join(dir, 'canary.yaml'), `${before}# edited\n`);
    const again = await runIn(dir, 'npx', ['--no', '--', 'canary', 'init', '--env', 'prod-eu'], {
      timeoutMs: 60_000,
    });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('--force');
    expect(fs.readFileSync(path.join(dir, 'canary.yaml'), 'utf8')).toBe(`${before}# edited\n`);
    const forced = await runIn(dir, 'npx', ['--no', '--', 'canary', 'init', '--env', 'prod-eu', '--force'], {
      timeoutMs: 60_000,
    });
    expect(forced.code, forced.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'canary.yaml'), 'utf8')).toBe(before);
  });
});
