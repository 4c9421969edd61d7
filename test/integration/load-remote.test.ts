/**
 * Load against a non-local environment: refused without --allow-remote, and held under the
 * environment's loadRateCap with it. The "remote" project is a local target reached the way a
 * real Supabase project is — by URL, keys and mechanic tokens from environment variables.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { environmentSchema, probeSchema } from '../../src/config/index.js';
import { runScenario, scenarioSchema } from '../../src/load/index.js';
import { createMetrics } from '../../src/metrics/index.js';
import { resolveEnvironment, type ResolvedEnvironment } from '../../src/probe/index.js';
import { isCanaryError } from '../../src/shared/index.js';
import { startTarget, type LocalTarget } from '../../src/local-target/index.js';
import { SHARED_MACHINE_HARNESS } from './load-support.js';

describe('load against a remote environment', () => {
  let target: LocalTarget | undefined;
  let env: ResolvedEnvironment | undefined;

  afterAll(async () => {
    await env?.close();
    await target?.stop();
  });

  it('needs --allow-remote, then publishes no faster than the environment rate cap', async () => {
    target = await startTarget({});
    const mechanic = await target.createMechanic({ name: 'remote-mechanic' });
    const config = environmentSchema.parse({
      name: 'staging',
      remote: {
        supabaseUrl: target.url,
        anonKeyEnv: 'STAGING_ANON_KEY',
        waiverUrl: `${target.url}/api/waiver`,
      },
      mechanics: { from: 'env', tokensEnv: ['STAGING_MECHANIC_TOKEN'] },
      loadRateCap: 2,
    });
    env = await resolveEnvironment(config, {
      env: { STAGING_ANON_KEY: target.anonKey, STAGING_MECHANIC_TOKEN: mechanic.token },
    });
    expect(env.kind).toBe('remote');
    // The scenario asks for 10 waivers a second for 4 s; the cap allows 2 a second.
    const scenario = scenarioSchema.parse({
      version: 'canary.scenario/v1',
      name: 'remote-rate',
      description: 'Wants more than the cap allows.',
      executor: 'ramping-arrival-rate',
      subscribers: 2,
      startRate: 10,
      stages: [{ duration: '4s', target: 10 }],
      paths: ['postgres_changes', 'broadcast'],
      lateAfter: '1s',
      deadline: '3s',
      harness: SHARED_MACHINE_HARNESS,
    });
    const probe = probeSchema.parse({ name: 'remote-probe', paths: ['postgres_changes', 'broadcast'] });

    const refused = await runScenario({ scenario, env, probe, metrics: createMetrics().metrics }).catch(
      (error: unknown) => error,
    );
    expect(isCanaryError(refused) && refused.code).toBe('UNSAFE_LOAD');

    const result = await runScenario({
      scenario,
      env,
      probe,
      metrics: createMetrics().metrics,
      allowRemote: true,
    });
    expect(result.failure).toBeUndefined();
    expect(result.rateCap).toBe(2);
    // One second of burst plus 2/s over the 4 s plan: at most 10, far below the 40 asked for.
    expect(result.published).toBeGreaterThanOrEqual(6);
    expect(result.published).toBeLessThanOrEqual(11);
    expect(result.paths.broadcast?.delivered).toBeGreaterThan(0);
  }, 120_000);
});
