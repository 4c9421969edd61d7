/**
 * The scheduler with two local environments: one fails to start the first time and is retried
 * while the other runs its rounds; stop() drains both and every due outcome is accounted for.
 */
import { describe, expect, it } from 'vitest';
import { environmentSchema, probeSchema } from '../../src/config/index.js';
import { createMetrics } from '../../src/metrics/index.js';
import { Scheduler, type OutcomeRecord, type StartLocalTarget } from '../../src/probe/index.js';
import { createLogger, sleep } from '../../src/shared/index.js';
import { startTarget } from '../../src/local-target/index.js';

describe('Scheduler', () => {
  it('retries an environment that failed to start while the other keeps probing, then drains both', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', json: true, write: (line) => lines.push(line) });
    const { metrics } = createMetrics();
    let failuresLeft = 1;
    const startLocalTarget: StartLocalTarget = async (request) => {
      if (request.broadcastChannel === 'flaky-channel' && failuresLeft > 0) {
        failuresLeft -= 1;
        throw new Error('the data directory could not be created');
      }
      return startTarget({ ...request, faults: {} });
    };
    const environments = [
      environmentSchema.parse({ name: 'steady', local: {} }),
      environmentSchema.parse({ name: 'flaky', local: {}, broadcastChannel: 'flaky-channel' }),
    ];
    const probe = probeSchema.parse({
      name: 'sched',
      interval: '1s',
      subscribers: { lean: 1, 'supabase-js': 0 },
      paths: ['postgres_changes', 'broadcast'],
      lateAfter: '1s',
      deadline: '3s',
      readinessCheck: false,
    });
    const outcomes: OutcomeRecord[] = [];
    const scheduler = new Scheduler({
      config: { probes: [probe], sources: { environments: {}, probes: {} } },
      environments,
      metrics,
      startLocalTarget,
      logger,
      retryDelayMs: 300,
      onOutcome: (o) => outcomes.push(o),
    });
    scheduler.start();
    try {
      for (let i = 0; i < 300; i++) {
        const states = scheduler.status();
        const rounds = states.map((s) => s.probes[0]?.roundsCompleted ?? 0);
        if (states.every((s) => s.state === 'running') && rounds.every((r) => r >= 2)) break;
        await sleep(200);
      }
      const status = scheduler.status();
      expect(status.map((s) => [s.name, s.state])).toEqual([
        ['steady', 'running'],
        ['flaky', 'running'],
      ]);
      expect(lines.some((l) => l.includes('"env":"flaky"') && l.includes('retrying in 300 ms'))).toBe(true);
      expect(lines.some((l) => l.includes('TARGET_START_FAILED') && l.includes('could not be created'))).toBe(
        true,
      );
      for (const env of status) expect(env.probes[0]?.roundsCompleted ?? 0).toBeGreaterThanOrEqual(2);
    } finally {
      await scheduler.stop();
    }
    const final = scheduler.status();
    let due = 0;
    for (const env of final) {
      expect(env.state).toBe('stopped');
      for (const path of env.probes[0]?.paths ?? []) {
        expect(path.due, `${env.name} ${path.path}`).toBe(path.delivered + path.late + path.dropped);
        due += path.due;
      }
    }
    expect(outcomes.length).toBe(due);
    expect(new Set(outcomes.map((o) => o.env))).toEqual(new Set(['steady', 'flaky']));
  }, 120_000);
});
