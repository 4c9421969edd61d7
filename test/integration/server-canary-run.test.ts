/**
 * The exporter as `canary run` wires it: a real run on the local target, read only through the
 * exporter's routes, as an orchestrator, a scraper and the live page would.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRun, type RunHandle } from '../../src/cli/commands/run.js';
import { silentLogger } from '../../src/shared/index.js';
import type { StatusSnapshot } from '../../src/server/index.js';

const root = path.resolve(import.meta.dirname, '../..');

describe('the exporter of a canary run on the local target', () => {
  let dir: string;
  let handle: RunHandle | undefined;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-server-run-'));
    // The shipped probe, one round every 2 s so the first round finishes quickly.
    const probe = fs
      .readFileSync(path.join(root, 'probes/waiver-to-mechanic.yaml'), 'utf8')
      .replace(/^interval: .*$/m, 'interval: 2s')
      .replace(/^jitter: .*$/m, 'jitter: 200ms');
    fs.writeFileSync(path.join(dir, 'probe.yaml'), probe);
    const config = path.join(dir, 'canary.yaml');
    fs.writeFileSync(
      config,
      [
        'version: canary/v1',
        'environments:',
        '  - name: local',
        '    local: {}',
        'probes:',
        '  - file: probe.yaml',
        '',
      ].join('\n'),
    );
    handle = await startRun(
      {
        config,
        env: [],
        port: '0',
        host: '127.0.0.1',
        summaryEvery: '1h',
        logLevel: 'error',
        duration: '10m',
      },
      { logger: silentLogger },
    );
  }, 120_000);

  afterAll(async () => {
    await handle?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    // Draining and stopping the local target has taken over a minute when the whole suite runs on two cores.
  }, 120_000);

  it('turns ready once subscribed and through a round, then reports every path in status and metrics', async () => {
    const url = handle!.exporterUrl;
    let ready: Response | undefined;
    for (let i = 0; i < 120; i++) {
      ready = await fetch(`${url}/readyz`);
      if (ready.status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(ready?.status, JSON.stringify(await ready?.json())).toBe(200);

    const status = (await (await fetch(`${url}/api/status`)).json()) as StatusSnapshot;
    expect(status.environments.map((env) => env.name)).toEqual(['local']);
    const view = status.environments[0]!.probes[0]!;
    expect(view.name).toBe('waiver-to-mechanic');
    expect(view.roundsCompleted).toBeGreaterThanOrEqual(1);
    // The shipped probe measures Broadcast from Database too on the local environment (pathsByEnv).
    expect(view.paths.map((p) => p.path).sort()).toEqual([
      'broadcast',
      'db_broadcast',
      'polling',
      'postgres_changes',
    ]);
    for (const p of view.paths) expect(p.delivered + p.late, p.path).toBeGreaterThan(0);
    expect(view.recentEvents.length).toBeGreaterThan(0);

    // Latency is only observed while the harness is not overloaded (such deliveries count as
    // untrusted), so on a saturated machine the histograms can trail the outcome counts a little.
    const latencyCount = (text: string, p: string): number => {
      const line = text
        .split('\n')
        .find((l) => l.startsWith('canary_delivery_latency_seconds_count{') && l.includes(`path="${p}"`));
      return Number(line?.split(' ').at(-1) ?? 0);
    };
    let metrics = '';
    for (let i = 0; i < 120; i++) {
      metrics = await (await fetch(`${url}/metrics`)).text();
      if (['postgres_changes', 'broadcast', 'polling'].every((p) => latencyCount(metrics, p) > 0)) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    for (const p of ['postgres_changes', 'broadcast', 'polling']) {
      expect(latencyCount(metrics, p), p).toBeGreaterThan(0);
    }
    expect(metrics).toMatch(/^canary_harness_cpu_ratio \S+$/m);

    const health = (await (await fetch(`${url}/healthz`)).json()) as { status: string; harness?: unknown };
    expect(health.status).toBe('ok');
    expect(health.harness).toBeDefined();

    const page = await fetch(`${url}/`);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
  }, 90_000);
  it("never shows the run's keys or mechanic tokens on any route", async () => {
    const url = handle!.exporterUrl;
    const environments = handle!.scheduler.environments();
    expect(environments).toHaveLength(1);
    const secrets = environments.flatMap((env) => [
      env.anonKey.reveal(),
      ...(env.serviceRoleKey ? [env.serviceRoleKey.reveal()] : []),
      ...env.mechanics.map((mechanic) => mechanic.session.current()),
    ]);
    expect(secrets.length).toBeGreaterThanOrEqual(2);
    for (const secret of secrets) expect(secret.length).toBeGreaterThan(20);

    const outputs: Record<string, string> = {};
    for (const route of ['/metrics', '/healthz', '/readyz', '/api/status', '/']) {
      outputs[route] = await (await fetch(`${url}${route}`)).text();
    }
    const controller = new AbortController();
    const stream = await fetch(`${url}/api/events`, { signal: controller.signal });
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    let events = '';
    for (let i = 0; i < 20 && !events.includes('event: snapshot'); i++)
      events += (await reader.read()).value ?? '';
    controller.abort();
    outputs['/api/events'] = events;

    expect(outputs['/api/status']).toContain('waiver-to-mechanic');
    for (const [route, output] of Object.entries(outputs)) {
      for (const secret of secrets) expect(output.includes(secret), `${route} leaks a key`).toBe(false);
    }
  }, 60_000);
});
