import { describe, expect, it } from 'vitest';
import { emptyStatusSnapshot, projectStatusSnapshot, type StatusSnapshot } from './status-snapshot.js';

function fullSnapshot(): StatusSnapshot {
  return {
    generatedAt: '2026-01-01T00:00:00.000Z',
    harness: { overloaded: true, eventLoopLagP99Ms: 75, cpuRatio: 0.95 },
    environments: [
      {
        name: 'prod',
        probes: [
          {
            name: 'waiver-to-mechanic',
            roundsCompleted: 3,
            lastRoundAt: '2026-01-01T00:00:00.000Z',
            lastRoundSuccess: false,
            subscribers: [{ client: 'lean', desired: 4, byStatus: { SUBSCRIBED: 3, TIMED_OUT: 1 } }],
            paths: [
              {
                path: 'broadcast',
                latencyMs: { p50: 12, p95: 40, p99: null },
                delivered: 9,
                late: 1,
                dropped: 2,
                duplicates: 1,
                deliveredRatio: 0.75,
                series: [
                  { at: '2026-01-01T00:00:00.000Z', latencyMs: 12 },
                  { at: '2026-01-01T00:00:01.000Z', latencyMs: null },
                ],
              },
            ],
            slos: [{ name: 'broadcast p95', objective: 0.99, current: null, met: null }],
            recentEvents: [
              {
                id: 'e1',
                publishedAt: '2026-01-01T00:00:00.000Z',
                latencyMs: { broadcast: 12, polling: 'dropped' },
              },
            ],
          },
        ],
      },
    ],
  };
}

describe('status snapshot projection', () => {
  it('keeps every field the contract names, unchanged', () => {
    expect(projectStatusSnapshot(fullSnapshot())).toEqual(fullSnapshot());
    expect(projectStatusSnapshot(emptyStatusSnapshot(new Date(0)))).toEqual({
      generatedAt: '1970-01-01T00:00:00.000Z',
      harness: null,
      environments: [],
    });
  });

  it('drops fields a producer added at any level, so internal state never reaches a route', () => {
    const snapshot = fullSnapshot();
    const environment = snapshot.environments[0]!;
    const probe = environment.probes[0]!;
    Object.assign(snapshot, { config: { serviceRoleKey: 'smuggled-1' } });
    Object.assign(environment, { secrets: 'smuggled-2' });
    Object.assign(probe, { token: 'smuggled-3' });
    Object.assign(probe.subscribers[0]!, { accessToken: 'smuggled-4' });
    Object.assign(probe.subscribers[0]!.byStatus, { leaked: 'smuggled-5' });
    Object.assign(probe.paths[0]!, { url: 'smuggled-6' });
    Object.assign(probe.recentEvents[0]!.latencyMs, { apikey: 'smuggled-7' });
    Object.assign(probe.slos[0]!, { query: 'smuggled-8' });

    const text = JSON.stringify(projectStatusSnapshot(snapshot));
    expect(text).not.toContain('smuggled');
    expect(JSON.parse(text)).toEqual(fullSnapshot());
  });
});
