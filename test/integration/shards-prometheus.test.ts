/**
 * Shards beyond one machine, proven on one: three `canary load --shard i/3` processes against one
 * target (reached as a remote project: URL, keys and mechanic tokens from environment variables),
 * each serving its own /metrics, scraped by a real Prometheus. `canary slo --prometheus` over the
 * three shards gives the same totals and the same verdict as one process running the same load.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CanaryReport } from '../../src/report/index.js';
import { startTarget, type LocalTarget } from '../../src/local-target/index.js';
import { skipWithoutPrometheus, startPrometheus, type RunningPrometheus } from '../helpers/prometheus.js';
import { readJson, repoRoot, runCli, SHARED_MACHINE_HARNESS, tempDir, writeYaml } from './load-support.js';

const SUBSCRIBERS = 6;
const EVENTS = 8;
const PATHS = ['postgres_changes', 'broadcast'] as const;

interface ShardProcess {
  child: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  exited: Promise<number | null>;
}

function startShard(args: string[], env: NodeJS.ProcessEnv): ShardProcess {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(repoRoot, 'src/cli/main.ts'), ...args],
    {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const killer = setTimeout(() => child.kill('SIGKILL'), 180_000);
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve(code);
    }),
  );
  return { child, stderr: () => stderr, stdout: () => stdout, exited };
}

async function waitForLine(shard: ShardProcess, pattern: RegExp, timeoutMs = 60_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const match = pattern.exec(shard.stderr() + shard.stdout());
    if (match?.[1]) return match[1];
    if (shard.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no ${pattern} in time; stderr:\n${shard.stderr()}`);
}

describe.skipIf(skipWithoutPrometheus)('load shards scraped by Prometheus', () => {
  let target: LocalTarget;
  let prometheus: RunningPrometheus | undefined;
  const shards: ShardProcess[] = [];
  let dir: string;
  let config: string;
  let scenario: string;
  let slos: string;
  let secrets: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dir = tempDir('shards');
    target = await startTarget({});
    const mechanics = await Promise.all(
      [0, 1, 2].map((i) => target.createMechanic({ name: `shard-mechanic-${i}` })),
    );
    secrets = {
      SHARED_ANON_KEY: target.anonKey,
      ...Object.fromEntries(mechanics.map((m, i) => [`SHARED_MECHANIC_${i}`, m.token])),
    };
    config = path.join(dir, 'canary.yaml');
    fs.writeFileSync(
      config,
      JSON.stringify({
        version: 'canary/v1',
        environments: [
          {
            name: 'shared',
            remote: {
              supabaseUrl: target.url,
              anonKeyEnv: 'SHARED_ANON_KEY',
              waiverUrl: `${target.url}/api/waiver`,
            },
            mechanics: { from: 'env', tokensEnv: mechanics.map((_, i) => `SHARED_MECHANIC_${i}`) },
            loadRateCap: 50,
          },
        ],
        probes: [
          {
            name: 'waiver-to-mechanic',
            paths: [...PATHS],
            lateAfter: '2s',
            deadline: '5s',
            publishMode: 'app_endpoint',
          },
        ],
      }),
    );
    // Connect for 4 s, then exactly 8 arrivals (a 0.5 s ramp to 4/s, 1.5 s at 4/s, a 0.5 s ramp down).
    scenario = writeYaml(dir, 'sharded.yaml', [
      'version: canary.scenario/v1',
      'name: sharded',
      'description: Six mechanics over three shards, eight waivers once they are connected.',
      'executor: ramping-arrival-rate',
      `subscribers: ${SUBSCRIBERS}`,
      'startRate: 0',
      `paths: [${PATHS.join(', ')}]`,
      'stages:',
      '  - { duration: 4s, target: 0 }',
      '  - { duration: 500ms, target: 4 }',
      '  - { duration: 1500ms, target: 4 }',
      '  - { duration: 500ms, target: 0 }',
      '  - { duration: 2s, target: 0 }',
      'spawnRate: 30',
      'maxDuration: 90s',
      `harness: { eventLoopLagP99Ms: ${SHARED_MACHINE_HARNESS.eventLoopLagP99Ms}, cpuRatio: ${SHARED_MACHINE_HARNESS.cpuRatio} }`,
      'thresholds: { slos: slos.yaml }',
    ]);
    slos = writeYaml(dir, 'slos.yaml', [
      'version: canary.slo/v1',
      'slos:',
      '  - name: delivery-latency',
      '    description: 99% of new assignments reach a mechanic within 1 s on each realtime path.',
      '    objective: 0.99',
      '    window: 28d',
      `    paths: [${PATHS.join(', ')}]`,
      '    sli: { latency: { threshold: 1s } }',
      '  - name: delivery-success',
      '    description: 99.9% delivered within the deadline.',
      '    objective: 0.999',
      '    window: 28d',
      '    sli: { delivery: {} }',
    ]);
  }, 60_000);

  afterAll(async () => {
    for (const shard of shards) if (shard.child.exitCode === null) shard.child.kill('SIGKILL');
    await prometheus?.stop();
    await target?.stop();
  });

  it('three shards give the same totals and verdict through Prometheus as one process', async () => {
    // One process, the reference.
    const single = await runCli(
      [
        'load',
        scenario,
        '--env',
        'shared',
        '--config',
        config,
        '--allow-remote',
        '--report-dir',
        path.join(dir, 'single'),
      ],
      { env: secrets, timeoutMs: 120_000 },
    );
    expect(single.code, single.stdout + single.stderr).toBe(0);
    const reference = readJson<CanaryReport>(path.join(dir, 'single', 'report.json'));
    expect(reference.totals.published).toBe(EVENTS);
    for (const name of PATHS) {
      const counts = reference.totals.paths[name]!;
      expect(counts.delivered + counts.late + counts.dropped).toBe(EVENTS * SUBSCRIBERS);
    }

    // Three shards: shard 0 serves the feed and publishes, 1 and 2 follow it.
    const common = (index: number): string[] => [
      'load',
      scenario,
      '--env',
      'shared',
      '--config',
      config,
      '--allow-remote',
      '--shard',
      `${index}/3`,
      '--metrics-port',
      '0',
      '--listen-host',
      '127.0.0.1',
      '--linger',
      '120',
      '--no-progress',
      '--report-dir',
      path.join(dir, `shard-${index}`),
    ];
    shards.push(startShard([...common(0), '--feed-port', '0'], secrets));
    const feed = await waitForLine(shards[0]!, /serves the event feed at (\S+)/);
    for (const index of [1, 2]) shards.push(startShard([...common(index), '--shard-feed', feed], secrets));
    const metricsUrls = await Promise.all(
      shards.map((shard) => waitForLine(shard, /serving \/metrics at (\S+)\/metrics/)),
    );
    prometheus = await startPrometheus({
      scrapeTargets: metricsUrls.map((url) => ({ url, job: 'canary-load' })),
    });

    // Every shard finishes its run and keeps /metrics up for the last scrape.
    for (const shard of shards) await waitForLine(shard, /(keeping \/metrics up)/, 120_000);
    const expectedOutcomes = EVENTS * SUBSCRIBERS * PATHS.length;
    await prometheus.waitFor('sum(canary_delivery_outcomes_total)', {
      timeoutMs: 30_000,
      until: (samples) => samples[0]?.value === expectedOutcomes,
    });
    const published = await prometheus.query('sum(canary_events_published_total)');
    expect(published[0]?.value).toBe(EVENTS);
    const perShard = await prometheus.query('sum by (shard) (canary_subscribers_desired)');
    expect(perShard.map((s) => [s.metric.shard, s.value]).sort()).toEqual([
      ['0', 2],
      ['1', 2],
      ['2', 2],
    ]);
    for (const name of PATHS) {
      const counts = reference.totals.paths[name]!;
      const byOutcome = await prometheus.query(
        `sum by (outcome) (canary_delivery_outcomes_total{path="${name}"})`,
      );
      const total = (outcome: string): number =>
        byOutcome.find((s) => s.metric.outcome === outcome)?.value ?? 0;
      expect(total('delivered') + total('late') + total('dropped')).toBe(
        counts.delivered + counts.late + counts.dropped,
      );
      expect(total('delivered')).toBe(counts.delivered);
    }

    // The verdict over all shards, from Prometheus, equals the single process's own.
    const verdict = await runCli(
      ['slo', '--prometheus', prometheus.url, '--slos', slos, '--env', 'shared', '--format', 'json'],
      { timeoutMs: 60_000 },
    );
    const sharded = JSON.parse(verdict.stdout) as CanaryReport;
    const key = (r: { slo: string; path?: string }): string => `${r.slo}/${r.path ?? ''}`;
    const summarize = (report: CanaryReport): Record<string, [string, number]> =>
      Object.fromEntries((report.slo?.results ?? []).map((r) => [key(r), [r.status, r.total]]));
    expect(summarize(sharded)).toEqual(summarize(reference));
    expect(Object.values(summarize(reference)).every(([status]) => status === 'met')).toBe(true);
    expect(verdict.code).toBe(0);

    // SIGTERM ends the linger; every shard exits with its own verdict (0 met, 1 breached). The bound
    // leaves room for each shard's bounded target shutdown on a saturated two-core machine.
    for (const shard of shards) shard.child.kill('SIGTERM');
    const gone = new Promise<'stuck'>((resolve) => setTimeout(() => resolve('stuck'), 90_000).unref());
    const codes = await Promise.race([Promise.all(shards.map((shard) => shard.exited)), gone]);
    expect(codes).not.toBe('stuck');
    expect(codes).toEqual([0, 0, 0]);
  }, 300_000);
});
