/**
 * The Artillery engine driven in-process, the way Artillery's runner drives it (createScenario,
 * then one call per virtual user with a callback), against a real local target. Artillery itself is
 * exercised by artillery-smoke.test.ts; this one needs no install and checks the accounting closely.
 */
import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CanaryEngine,
  EngineBooks,
  EngineConfigError,
  resolveEngineConfig,
  type ArtilleryHelpers,
  type ArtilleryStep,
} from '../../packages/artillery-engine-canary/src/index.js';
import * as probe from '../../src/probe/index.js';
import * as realtime from '../../src/realtime/index.js';
import * as shared from '../../src/shared/index.js';
import { startTarget, type LocalTarget } from '../../src/local-target/index.js';

/** Artillery's engine utilities, reduced to what these flows use (no think, loop or templates). */
const helpers: ArtilleryHelpers = {
  template: (value) => value,
  createThink: () => {
    throw new Error('think is not used in these flows');
  },
  createLoopWithCount: () => {
    throw new Error('loop is not used in these flows');
  },
};

interface Recorded {
  counters: Map<string, number>;
  histograms: Map<string, number[]>;
  errors: string[];
  started: number;
}

function recordingEmitter(): { ee: EventEmitter; recorded: Recorded } {
  const recorded: Recorded = { counters: new Map(), histograms: new Map(), errors: [], started: 0 };
  const ee = new EventEmitter();
  ee.on('counter', (name: string, value: number) =>
    recorded.counters.set(name, (recorded.counters.get(name) ?? 0) + value),
  );
  ee.on('histogram', (name: string, value: number) => {
    const list = recorded.histograms.get(name) ?? [];
    list.push(value);
    recorded.histograms.set(name, list);
  });
  ee.on('error', (code: string) => recorded.errors.push(code));
  ee.on('started', () => (recorded.started += 1));
  return { ee, recorded };
}

function runVirtualUser(scenario: ArtilleryStep): Promise<Error | null> {
  return new Promise((resolve) => scenario({ vars: {} }, (error) => resolve(error)));
}

describe('the canary Artillery engine in-process', () => {
  let target: LocalTarget;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    target = await startTarget({});
    const mechanic = await target.createMechanic({ name: 'artillery-engine-mechanic' });
    env = {
      SUPABASE_URL: target.url,
      SUPABASE_ANON_KEY: target.anonKey,
      SUPABASE_SERVICE_ROLE_KEY: target.serviceRoleKey,
      MECHANIC_TOKEN: mechanic.token,
      CANARY_BROADCAST_CHANNEL: target.broadcastChannel,
    };
  }, 120_000);

  afterAll(async () => {
    await target?.stop();
  }, 120_000);

  it('balances the books per path: every due delivery ends delivered, late, dropped or withdrawn', async () => {
    const config = resolveEngineConfig({ canary: { lateAfterMs: 2_000, deadlineMs: 4_000 } }, env);
    const books = new EngineBooks({ probe, realtime, shared }, config);
    const engine = new CanaryEngine(books, helpers);
    const { ee, recorded } = recordingEmitter();
    const mechanic = engine.createScenario(
      { name: 'mechanic', flow: [{ subscribe: {} }, { publish: { count: 2 } }, { unsubscribe: null }] },
      ee,
    );
    const errors = await Promise.all([
      runVirtualUser(mechanic),
      runVirtualUser(mechanic),
      runVirtualUser(mechanic),
    ]);

    expect(errors).toEqual([null, null, null]);
    expect(recorded.started).toBe(3);
    expect(recorded.errors).toEqual([]);
    const count = (name: string): number => recorded.counters.get(name) ?? 0;
    expect(count('canary.subscribe.subscribed')).toBe(3);
    expect(count('canary.events.published')).toBe(6);
    for (const path of ['postgres_changes', 'broadcast'] as const) {
      const due = count(`canary.${path}.due`);
      const settled =
        count(`canary.${path}.delivered`) +
        count(`canary.${path}.late`) +
        count(`canary.${path}.dropped`) +
        count(`canary.${path}.withdrawn`);
      // Each user publishes 2 while subscribed, so it is due at least its own 2 events.
      expect(due, path).toBeGreaterThanOrEqual(6);
      expect(settled, path).toBe(due);
      expect(count(`canary.${path}.delivered`), path).toBeGreaterThan(0);
      const latencies = recorded.histograms.get(`canary.delivery.${path}`) ?? [];
      expect(latencies.length, path).toBe(count(`canary.${path}.delivered`) + count(`canary.${path}.late`));
      for (const ms of latencies) expect(ms).toBeGreaterThanOrEqual(0);
    }
  }, 120_000);

  it('counts every broadcast as dropped when the target drops them, and the books still balance', async () => {
    await target.faults.update({ broadcast: { dropRate: 1 } });
    try {
      const config = resolveEngineConfig({ canary: { lateAfterMs: 500, deadlineMs: 1_500 } }, env);
      const engine = new CanaryEngine(new EngineBooks({ probe, realtime, shared }, config), helpers);
      const { ee, recorded } = recordingEmitter();
      const mechanic = engine.createScenario({ flow: [{ subscribe: {} }, { publish: { count: 2 } }] }, ee);
      const errors = await Promise.all([runVirtualUser(mechanic), runVirtualUser(mechanic)]);
      expect(errors).toEqual([null, null]);
      const count = (name: string): number => recorded.counters.get(name) ?? 0;
      const broadcastDue = count('canary.broadcast.due');
      expect(broadcastDue).toBeGreaterThanOrEqual(4);
      expect(count('canary.broadcast.dropped')).toBe(broadcastDue);
      expect(count('canary.broadcast.delivered') + count('canary.broadcast.late')).toBe(0);
      expect(recorded.histograms.get('canary.delivery.broadcast')).toBeUndefined();
      const changesDue = count('canary.postgres_changes.due');
      expect(count('canary.postgres_changes.delivered')).toBeGreaterThan(0);
      expect(
        count('canary.postgres_changes.delivered') +
          count('canary.postgres_changes.late') +
          count('canary.postgres_changes.dropped') +
          count('canary.postgres_changes.withdrawn'),
      ).toBe(changesDue);
    } finally {
      await target.faults.reset();
    }
  }, 120_000);

  it('reports a mechanic whose token is refused as not subscribed, with the reason, and nothing due', async () => {
    const config = resolveEngineConfig(
      { canary: { mechanicToken: 'not-a-jwt', joinTimeoutMs: 1_000, deadlineMs: 2_000, lateAfterMs: 500 } },
      env,
    );
    const engine = new CanaryEngine(new EngineBooks({ probe, realtime, shared }, config), helpers);
    const { ee, recorded } = recordingEmitter();
    const mechanic = engine.createScenario({ flow: [{ subscribe: {} }, { publish: { count: 1 } }] }, ee);
    expect(await runVirtualUser(mechanic)).toBeNull();
    const names = [...recorded.counters.keys()];
    expect(recorded.counters.get('canary.subscribe.not_subscribed')).toBe(1);
    expect(recorded.counters.get('canary.subscribe.subscribed')).toBeUndefined();
    expect(names.some((name) => name.startsWith('canary.status.'))).toBe(true);
    expect(recorded.counters.get('canary.postgres_changes.due')).toBeUndefined();
    expect(recorded.counters.get('canary.events.published')).toBe(1);
  }, 60_000);

  it('fails a virtual user whose flow subscribes twice, with the reason in the error', async () => {
    const config = resolveEngineConfig({ canary: { deadlineMs: 3_000 } }, env);
    const engine = new CanaryEngine(new EngineBooks({ probe, realtime, shared }, config), helpers);
    const { ee, recorded } = recordingEmitter();
    const scenario = engine.createScenario({ flow: [{ subscribe: {} }, { subscribe: {} }] }, ee);
    const error = await runVirtualUser(scenario);
    expect(error).toBeInstanceOf(EngineConfigError);
    expect(error?.message).toMatch(/already subscribed.*subscribe once per flow/);
    expect(recorded.errors).toEqual(['canary.config_invalid']);
  }, 60_000);

  it('rejects unknown steps and settings with a hint, before any virtual user runs', () => {
    const config = resolveEngineConfig({}, env);
    const engine = new CanaryEngine(new EngineBooks({ probe, realtime, shared }, config), helpers);
    expect(() => engine.createScenario({ flow: [{ emit: {} }] }, new EventEmitter())).toThrow(
      /not a canary step — use subscribe, publish/,
    );
    expect(() => resolveEngineConfig({ canary: { deadline: 5 } }, env)).toThrow(
      /config.canary.deadline is not a setting/,
    );
    expect(() => resolveEngineConfig({ canary: { lateAfterMs: 5_000, deadlineMs: 1_000 } }, env)).toThrow(
      /make lateAfterMs the smaller/,
    );
    expect(() => resolveEngineConfig({ canary: { paths: ['polling'] } }, env)).toThrow(
      /use postgres_changes or broadcast/,
    );
    expect(() => resolveEngineConfig({ target: '{{ $env.SUPABASE_URL }}' }, {})).toThrow(
      /url is not set — set it in the script or export SUPABASE_URL/,
    );
    expect(() =>
      resolveEngineConfig(
        { canary: { publishMode: 'direct' } },
        { ...env, SUPABASE_SERVICE_ROLE_KEY: undefined },
      ),
    ).toThrow(/needs the service-role key/);
  });
});
