/**
 * The seed's hypotheses, reproduced: a clean "dev" and a "prod" local target with one injected
 * fault at a time. `canary diff` must rank the injected cause first with its evidence, and say the
 * environments match within noise when nothing is injected; `canary audit` fails the matching check.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeSchema } from '../../src/config/index.js';
import { diffByProbing, runAudit, renderDiffText, type DiffReport } from '../../src/diagnosis/index.js';
import type { ResolvedEnvironment } from '../../src/probe/index.js';
import type { FaultSettingsInput, LocalTarget } from '../../src/local-target/index.js';
import { startLocalEnvironment } from './probe-support.js';

let dev: { env: ResolvedEnvironment; target: LocalTarget };
let prod: { env: ResolvedEnvironment; target: LocalTarget };

const probeInput = {
  name: 'diff',
  subscribers: { lean: 3, 'supabase-js': 1 },
  interval: '300ms',
  pollInterval: '500ms',
  lateAfter: '1500ms',
  deadline: '4s',
  publishMode: 'app_endpoint',
} as const;
const probe = probeSchema.parse(probeInput);

/** The same probe, also measuring Broadcast from Database side by side. */
const dbProbe = probeSchema.parse({
  ...probeInput,
  paths: ['postgres_changes', 'broadcast', 'polling', 'db_broadcast'],
});

beforeAll(async () => {
  [dev, prod] = await Promise.all([
    startLocalEnvironment({ name: 'dev' }),
    startLocalEnvironment({ name: 'prod' }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([dev?.env.close(), prod?.env.close()]);
});

async function diffWith(faults: FaultSettingsInput, durationMs = 8_000, spec = probe): Promise<DiffReport> {
  await prod.target.faults.reset();
  await prod.target.faults.update(faults);
  try {
    const report = await diffByProbing({ baseline: dev.env, suspect: prod.env, probe: spec, durationMs });
    process.stdout.write(renderDiffText(report));
    return report;
  } finally {
    await prod.target.faults.reset();
  }
}

describe('canary diff ranks the injected cause first', () => {
  it('says dev and prod match within noise when nothing is injected, and states the band', async () => {
    const report = await diffWith({});
    expect(report.ranking.causes.map((cause) => cause.id)).toEqual([]);
    expect(report.ranking.withinNoise).toBe(true);
    expect(renderDiffText(report)).toMatch(/match within noise \(noise band: latency ±max\(25 ms/);
  }, 60_000);

  it('network latency: 250 ms added on every path', async () => {
    const report = await diffWith({
      postgresChanges: { delayMs: 250 },
      broadcast: { delayMs: 250 },
      polling: { delayMs: 250 },
    });
    expect(report.ranking.causes[0]?.id).toBe('network_latency');
    expect(report.ranking.causes[0]?.evidence.join(' ')).toMatch(/postgres_changes p50 .* \(\+2\d\d ms\)/);
  }, 60_000);

  it('broadcast path: the app broadcast takes 600 ms while postgres_changes arrives at once', async () => {
    const report = await diffWith({ restBroadcast: { delayMs: 600 } });
    expect(report.ranking.causes[0]?.id).toBe('broadcast_path');
  }, 60_000);

  it('websocket stability: sockets dropped every 2 s lose events in the reconnect gaps', async () => {
    const report = await diffWith({ disconnects: { everyMs: 2000, fraction: 1 } }, 10_000);
    expect(report.ranking.causes[0]?.id).toBe('websocket_stability');
    expect(report.suspect.subscription.reconnects).toBeGreaterThan(0);
  }, 60_000);

  it('caching: the queue API serves a 3 s old snapshot with cacheable headers', async () => {
    const report = await diffWith({ polling: { staleMs: 3000, cacheableHeaders: true } });
    expect(report.ranking.causes[0]?.id).toBe('caching');
    expect(report.suspect.polling.cacheableResponses).toBeGreaterThan(0);
  }, 60_000);

  it('connection limit: joins refused above a cap of 2 connections', async () => {
    const report = await diffWith({ connectionCap: 2 });
    expect(report.ranking.causes[0]?.id).toBe('connection_limit');
    expect(report.suspect.subscription.errorsByReason.connection_limit ?? 0).toBeGreaterThan(0);
  }, 60_000);

  it('readiness gap: SUBSCRIBED 3 s before changes flow', async () => {
    const report = await diffWith({ readinessGapMs: 3000 });
    expect(report.ranking.causes[0]?.id).toBe('readiness_gap');
  }, 60_000);

  it('publication: session_assignments dropped from supabase_realtime, and audit fails the publication check', async () => {
    await prod.target.faults.update({ publicationMissing: true });
    const audit = await runAudit({ env: 'prod', databaseUrl: prod.target.databaseUrl });
    expect(audit.checks.find((check) => check.id === 'realtime.publication')?.status).toBe('fail');
    const report = await diffWith({ publicationMissing: true });
    expect(report.ranking.causes[0]?.id).toBe('publication_or_rls');
  }, 60_000);

  it('RLS: the realtime SELECT policy removed, and audit fails the policy check', async () => {
    await prod.target.faults.update({ realtimeSelectPolicyMissing: true });
    const audit = await runAudit({ env: 'prod', databaseUrl: prod.target.databaseUrl });
    expect(audit.checks.find((check) => check.id === 'rls.realtime_select_policy')?.status).toBe('fail');
    const report = await diffWith({ realtimeSelectPolicyMissing: true });
    expect(report.ranking.causes[0]?.id).toBe('publication_or_rls');
  }, 60_000);

  it('Realtime Authorization: the realtime.messages policy removed refuses private joins, and audit fails the messages policy check', async () => {
    await prod.target.faults.update({ messagesPolicyMissing: true });
    const audit = await runAudit({ env: 'prod', databaseUrl: prod.target.databaseUrl });
    expect(audit.checks.find((check) => check.id === 'broadcast.messages_policy')?.status).toBe('fail');
    const report = await diffWith({ messagesPolicyMissing: true }, 8_000, dbProbe);
    expect(report.ranking.causes[0]?.id).toBe('private_channel_authorization');
    expect(report.baseline.paths.db_broadcast?.deliveredRatio ?? 0).toBeGreaterThan(0.5);
  }, 60_000);

  it('Broadcast from Database: the session_assignments trigger removed, and audit fails the trigger check', async () => {
    await prod.target.faults.update({ broadcastTriggerMissing: true });
    const audit = await runAudit({ env: 'prod', databaseUrl: prod.target.databaseUrl });
    expect(audit.checks.find((check) => check.id === 'broadcast.trigger')?.status).toBe('fail');
    const report = await diffWith({ broadcastTriggerMissing: true }, 8_000, dbProbe);
    expect(report.ranking.causes[0]?.id).toBe('broadcast_trigger');
  }, 60_000);
});
