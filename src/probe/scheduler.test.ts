import { describe, expect, it } from 'vitest';
import { environmentSchema, probeSchema } from '../config/index.js';
import { createMetrics } from '../metrics/index.js';
import { createManualClock } from '../shared/index.js';
import type { StartLocalTarget } from './resolved-environment.js';
import { Scheduler } from './scheduler.js';

describe('Scheduler retry backoff', () => {
  it('retries an environment that cannot start after 1 s, 2 s, 4 s, then every 5 s at the cap, on a manual clock', async () => {
    const clock = createManualClock();
    const attempts: number[] = [];
    const startLocalTarget: StartLocalTarget = async () => {
      attempts.push(clock.now());
      throw new Error('the data directory could not be created');
    };
    const scheduler = new Scheduler({
      config: { probes: [probeSchema.parse({ name: 'p' })], sources: { environments: {}, probes: {} } },
      environments: [environmentSchema.parse({ name: 'broken', local: {} })],
      metrics: createMetrics().metrics,
      startLocalTarget,
      clock,
      retryDelayMs: 1000,
      maxRetryDelayMs: 5000,
    });
    scheduler.start();
    await clock.advance(0);
    expect(scheduler.status()[0]).toMatchObject({ name: 'broken', state: 'retrying' });
    expect(scheduler.status()[0]?.error).toMatch(/data directory could not be created/);
    await clock.advance(20_000);
    expect(attempts).toEqual([0, 1000, 3000, 7000, 12_000, 17_000]);
    const stopped = scheduler.stop();
    await clock.advance(0);
    await stopped;
    expect(attempts).toHaveLength(6);
    expect(scheduler.status()[0]?.state).toBe('stopped');
  });
});
