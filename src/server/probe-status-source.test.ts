import { afterEach, describe, expect, it } from 'vitest';
import type { ProbeStatus } from '../probe/index.js';
import { createProbeStatusSource, type ProbeStatusSource } from './probe-status-source.js';
import type { StatusSnapshot } from './status-snapshot.js';

/** A runner's status as ProbeRunner.status() reports it, with events added by the test. */
function runnerStatus(env: string, probe: string): ProbeStatus {
  return {
    env,
    probe,
    roundsCompleted: 0,
    lastRoundAt: null,
    lastRoundSuccess: null,
    eventsPublished: 0,
    publishErrors: 0,
    pendingEvents: 0,
    unmatchedDeliveries: 0,
    subscribers: [{ client: 'lean', desired: 2, byStatus: { SUBSCRIBED: 2 } }],
    paths: (['postgres_changes', 'broadcast'] as const).map((path) => ({
      path,
      latencyMs: { p50: null, p95: null, p99: null },
      due: 0,
      delivered: 0,
      late: 0,
      dropped: 0,
      duplicates: 0,
      outOfOrder: 0,
      gapMissed: 0,
      gapCoveredByPolling: 0,
      replayRecovered: 0,
      untrusted: 0,
      zombies: 0,
      readinessMissedEvents: 0,
      deliveredRatio: null,
    })),
    mechanics: [],
    recentEvents: [],
  };
}

const at = (second: number): string => new Date(Date.UTC(2026, 0, 1, 0, 0, second)).toISOString();

function seriesOf(snapshot: StatusSnapshot, path: string) {
  return snapshot.environments[0]?.probes[0]?.paths.find((p) => p.path === path)?.series ?? [];
}

describe('probe status source', () => {
  let source: ProbeStatusSource | undefined;
  afterEach(() => source?.stop());

  it('groups probes by environment and lists configured environments that have no runner yet', () => {
    const runners = [runnerStatus('dev', 'a'), runnerStatus('prod', 'a'), runnerStatus('dev', 'b')].map(
      (s) => ({
        status: () => s,
      }),
    );
    source = createProbeStatusSource({ runners, environments: ['prod', 'dev', 'staging'] });
    const snapshot = source.snapshot();
    expect(snapshot.environments.map((e) => [e.name, e.probes.map((p) => p.name)])).toEqual([
      ['prod', ['a']],
      ['dev', ['a', 'b']],
      ['staging', []],
    ]);
  });

  it('accumulates a time-ordered latency series per path beyond the runner window, drops as null', () => {
    const status = runnerStatus('local', 'p');
    source = createProbeStatusSource({ runners: [{ status: () => status }], seriesLength: 4 });

    // Newest first, as the runner reports; e2 is still pending on postgres_changes.
    status.recentEvents = [
      { id: 'e2', publishedAt: at(2), latencyMs: { broadcast: 20 } },
      { id: 'e1', publishedAt: at(1), latencyMs: { postgres_changes: 40, broadcast: 10 } },
    ];
    let snapshot = source.refresh();
    expect(seriesOf(snapshot, 'postgres_changes')).toEqual([{ at: at(1), latencyMs: 40 }]);
    expect(seriesOf(snapshot, 'broadcast').map((p) => p.latencyMs)).toEqual([10, 20]);

    // e2 is later found dropped, after e3 was delivered; e1 has left the runner's window.
    status.recentEvents = [
      { id: 'e3', publishedAt: at(3), latencyMs: { postgres_changes: 30, broadcast: 5 } },
      { id: 'e2', publishedAt: at(2), latencyMs: { postgres_changes: 'dropped', broadcast: 20 } },
    ];
    snapshot = source.refresh();
    expect(seriesOf(snapshot, 'postgres_changes')).toEqual([
      { at: at(1), latencyMs: 40 },
      { at: at(2), latencyMs: null },
      { at: at(3), latencyMs: 30 },
    ]);

    status.recentEvents = [4, 5, 6].map((s) => ({
      id: `e${s}`,
      publishedAt: at(s),
      latencyMs: { broadcast: s },
    }));
    snapshot = source.refresh();
    // Bounded: the oldest points go first.
    expect(seriesOf(snapshot, 'broadcast').map((p) => p.latencyMs)).toEqual([5, 4, 5, 6]);
  });

  it('tells listeners only when the content changed, not on every read', () => {
    const status = runnerStatus('local', 'p');
    source = createProbeStatusSource({ runners: [{ status: () => status }], refreshMs: 60_000 });
    const seen: StatusSnapshot[] = [];
    const unsubscribe = source.subscribe((snapshot) => seen.push(snapshot));
    source.refresh();
    source.refresh();
    expect(seen).toHaveLength(1);
    status.roundsCompleted = 1;
    source.refresh();
    expect(seen).toHaveLength(2);
    expect(seen[1]?.environments[0]?.probes[0]?.roundsCompleted).toBe(1);
    unsubscribe();
    status.roundsCompleted = 2;
    source.refresh();
    expect(seen).toHaveLength(2);
  });

  it('adds SLO state and harness health when they are provided', () => {
    source = createProbeStatusSource({
      runners: [{ status: () => runnerStatus('local', 'p') }],
      slos: (env, probe) => [{ name: `${env}/${probe} latency`, objective: 0.99, current: 0.995, met: true }],
      health: { snapshot: () => ({ overloaded: true, eventLoopLagP99Ms: 80, cpuRatio: 0.5, samples: 3 }) },
    });
    const snapshot = source.snapshot();
    expect(snapshot.environments[0]?.probes[0]?.slos).toEqual([
      { name: 'local/p latency', objective: 0.99, current: 0.995, met: true },
    ]);
    expect(snapshot.harness).toEqual({ overloaded: true, eventLoopLagP99Ms: 80, cpuRatio: 0.5 });
  });
});
