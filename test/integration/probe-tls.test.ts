/**
 * The probe over TLS, end to end: a local target serving https:// and wss:// on one port, the
 * canary trusting its per-run CA by itself. supabase-js and lean subscribers, the app-endpoint
 * publisher, pollers and Auth all go over TLS; every event is delivered; each connection's TLS
 * phase is measured apart from its join; after the target drops every socket, reconnects resume
 * TLS sessions. A remote environment that does not trust the CA fails as a TLS error with the fix,
 * and works once `tls.caFile` names the CA.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { environmentSchema, probeSchema } from '../../src/config/index.js';
import { diffByProbing, renderDiffText } from '../../src/diagnosis/index.js';
import {
  checkReachable,
  resolveEnvironment,
  type ProbeRunner,
  type ResolvedEnvironment,
} from '../../src/probe/index.js';
import { startTarget, type LocalTarget } from '../../src/local-target/index.js';
import { ProjectTransport } from '../../src/net/index.js';
import {
  createLeanSubscriber,
  createSupabaseJsSubscriber,
  fixedToken,
  type StatusChange,
} from '../../src/realtime/index.js';
import { systemClock } from '../../src/shared/index.js';
import { booksBalance, createRunner, metricSum } from './probe-support.js';

let env: ResolvedEnvironment;
let target: LocalTarget | undefined;
const runners: ProbeRunner[] = [];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-probe-tls-'));

beforeAll(async () => {
  const config = environmentSchema.parse({
    name: 'local-tls',
    local: { seed: 5, tls: true },
    mechanics: { from: 'local', count: 3 },
  });
  env = await resolveEnvironment(config, {
    startLocalTarget: async (request) => (target = await startTarget({ ...request, faultSeed: 5 })),
  });
}, 90_000);

afterEach(async () => {
  for (const runner of runners.splice(0)) await runner.stop();
  await target?.faults.reset();
});

afterAll(async () => {
  await env?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function pathStatus(runner: ProbeRunner, name: string) {
  const status = runner.status().paths.find((p) => p.path === name);
  if (!status) throw new Error(`no status for ${name}`);
  return status;
}

describe('the probe over TLS', () => {
  it('delivers every event over wss and https to supabase-js and lean subscribers and pollers, timing TLS apart from the join', async () => {
    expect(env.supabaseUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(env.tlsCaPems).toHaveLength(1);
    const { runner, registry } = createRunner(env, {
      name: 'tls-books',
      publishMode: 'app_endpoint',
      subscribers: { lean: 2, 'supabase-js': 1 },
      paths: ['postgres_changes', 'broadcast', 'polling'],
      pollInterval: '500ms',
      lateAfter: '3s',
      deadline: '8s',
      eventsPerRound: 2,
      readinessCheck: false,
    });
    runners.push(runner);
    await runner.start();
    expect(await runner.waitUntilSubscribed(30_000)).toBe(true);
    await runner.runRound();
    await runner.runRound();
    await runner.drain();
    for (const name of ['postgres_changes', 'broadcast']) {
      const status = pathStatus(runner, name);
      expect(status.due, name).toBe(12);
      expect(status.dropped, name).toBe(0);
      expect(status.delivered + status.late, name).toBe(12);
    }
    const polling = pathStatus(runner, 'polling');
    expect(polling.due).toBeGreaterThan(0);
    expect(polling.dropped).toBe(0);
    expect(booksBalance(runner)).toBe(true);

    // One TLS phase per socket (lean: one socket for both channels; supabase-js: its own), and
    // join phases from the lean client: the handshake is measured apart from the join.
    const phase = (name: string, client?: string) =>
      metricSum(registry, 'canary_connection_phase_seconds_count', {
        phase: name,
        ...(client ? { client } : {}),
      });
    expect(await phase('tls', 'lean')).toBe(2);
    expect(await phase('tls', 'supabase-js')).toBe(1);
    expect(await phase('tcp')).toBe(3);
    expect(await phase('upgrade')).toBe(3);
    expect(await phase('join', 'lean')).toBe(4);
    expect(await metricSum(registry, 'canary_tls_handshakes_total')).toBe(3);
  }, 90_000);

  it('resumes TLS sessions when the target drops every socket, and loses nothing sent after the resubscribe', async () => {
    const { runner, registry } = createRunner(env, {
      name: 'tls-storm',
      publishMode: 'direct',
      subscribers: { lean: 3 },
      paths: ['postgres_changes', 'broadcast'],
      lateAfter: '3s',
      deadline: '8s',
      eventsPerRound: 1,
      readinessCheck: false,
    });
    runners.push(runner);
    await runner.start();
    expect(await runner.waitUntilSubscribed(30_000)).toBe(true);
    const resumedBefore = await metricSum(registry, 'canary_tls_handshakes_total', { resumed: 'true' });
    await target?.faults.update({ disconnects: { everyMs: 300, fraction: 1 } });
    await expect
      .poll(() => metricSum(registry, 'canary_reconnects_total'), { timeout: 10_000 })
      .toBeGreaterThan(0);
    await target?.faults.reset();
    expect(await runner.waitUntilSubscribed(30_000)).toBe(true);
    const resumedAfter = await metricSum(registry, 'canary_tls_handshakes_total', { resumed: 'true' });
    expect(resumedAfter).toBeGreaterThan(resumedBefore);
    await runner.runRound();
    await runner.drain();
    for (const name of ['postgres_changes', 'broadcast']) {
      const status = pathStatus(runner, name);
      expect(status.dropped, name).toBe(0);
      expect(status.delivered + status.late, name).toBe(3);
    }
  }, 90_000);

  it('reports an untrusted certificate to both subscriber kinds as the tls reason, not a plain transport failure', async () => {
    if (!target) throw new Error('no target');
    const mechanic = await target.createMechanic({ name: 'tls-untrusted' });
    for (const create of [createLeanSubscriber, createSupabaseJsSubscriber]) {
      const statuses: StatusChange[] = [];
      const subscriber = create({
        id: `untrusted-${create.name}`,
        supabaseUrl: target.url,
        anonKey: target.publishableKey,
        transport: new ProjectTransport(), // the system roots only: the per-run CA is unknown
        tokens: fixedToken(mechanic.token),
        schema: 'public',
        table: 'session_assignments',
        changesChannel: 'tls-untrusted-changes',
        broadcastChannel: 'tls-untrusted',
        broadcastEvent: 'new_assignment',
        paths: ['broadcast'],
        clock: systemClock,
        handlers: { onStatus: (change) => statuses.push(change), onDelivery: () => {} },
      });
      subscriber.start();
      await expect.poll(() => statuses.length, { timeout: 10_000 }).toBeGreaterThan(0);
      await subscriber.stop();
      expect(statuses[0]?.status, create.name).toBe('CHANNEL_ERROR');
      expect(statuses[0]?.reason, create.name).toBe('tls');
      expect(statuses[0]?.message, create.name).toMatch(/self[- ]signed certificate/);
    }
  }, 60_000);

  it('reports an untrusted certificate as a TLS failure with the fix, and works once tls.caFile names the CA', async () => {
    if (!target?.tls) throw new Error('the target does not serve TLS');
    const remote = (tls: Record<string, unknown>) =>
      environmentSchema.parse({
        name: 'remote-tls',
        remote: {
          supabaseUrl: target?.url,
          publishableKeyEnv: 'TLS_PUBLISHABLE_KEY',
          secretKeyEnv: 'TLS_SECRET_KEY',
        },
        mechanics: { from: 'env', tokensEnv: ['TLS_MECHANIC_TOKEN'] },
        tls,
      });
    const mechanic = await target.createMechanic({ name: 'tls-remote' });
    const variables = {
      TLS_PUBLISHABLE_KEY: target.publishableKey,
      TLS_SECRET_KEY: target.secretKey,
      TLS_MECHANIC_TOKEN: mechanic.token,
    };
    const file = path.join(dir, 'environments.yaml');

    const untrusted = await resolveEnvironment(remote({}), { env: variables, file });
    const failure = await checkReachable(untrusted, { file }).then(
      () => undefined,
      (error: unknown) => error as Error & { hint?: string },
    );
    await untrusted.close();
    expect(failure?.message).toMatch(
      /TLS with https:\/\/127\.0\.0\.1:\d+ failed: .*self[- ]signed certificate/,
    );
    expect(failure?.hint).toMatch(/tls\.caFile/);

    fs.copyFileSync(target.tls.caFile, path.join(dir, 'target-ca.pem'));
    const trusted = await resolveEnvironment(remote({ caFile: 'target-ca.pem' }), { env: variables, file });
    await expect(checkReachable(trusted, { file })).resolves.toBeUndefined();
    const { runner } = createRunner(trusted, {
      name: 'tls-remote',
      publishMode: 'direct',
      subscribers: { lean: 1 },
      paths: ['broadcast'],
      readinessCheck: false,
    });
    runners.push(runner);
    await runner.start();
    expect(await runner.waitUntilSubscribed(20_000)).toBe(true);
    await runner.stop();
    await trusted.close();
  }, 90_000);

  it('names a slow TLS edge in canary diff: handshakes slower, joins not', async () => {
    let slowTarget: LocalTarget | undefined;
    const slow = await resolveEnvironment(
      environmentSchema.parse({
        name: 'slow-edge',
        local: { seed: 6, tls: true },
        mechanics: { from: 'local', count: 3 },
      }),
      {
        startLocalTarget: async (request) =>
          (slowTarget = await startTarget({ ...request, faults: { tlsHandshakeDelayMs: 300 } })),
      },
    );
    try {
      const report = await diffByProbing({
        baseline: env,
        suspect: slow,
        probe: probeSchema.parse({
          name: 'tls-diff',
          subscribers: { lean: 3, 'supabase-js': 1 },
          interval: '500ms',
          lateAfter: '1500ms',
          deadline: '4s',
          publishMode: 'direct',
        }),
        durationMs: 5_000,
      });
      const text = renderDiffText(report);
      process.stdout.write(text);
      expect(report.ranking.causes[0]?.id, text).toBe('slow_tls_edge');
      expect(text).toMatch(/TLS handshake p50 \/ p95\s+\d+ ms \/ \d+ ms .*\s([3-9]\d\d|\d{4}) ms \/ \d+ ms/);
      expect(await metricSumText(slowTarget)).toBeGreaterThan(0);
    } finally {
      await slow.close();
    }
  }, 120_000);
});

/** How many connections the slow-edge fault held, from the target's own metrics. */
async function metricSumText(target: LocalTarget | undefined): Promise<number> {
  const text = (await target?.context.metrics.registry.metrics()) ?? '';
  const line = text
    .split('\n')
    .find((l) => l.startsWith('target_faults_injected_total') && l.includes('fault="tls_handshake_delay"'));
  return line ? Number(line.split(' ').pop()) : 0;
}
