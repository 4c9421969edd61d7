import { describe, expect, it } from 'vitest';
import type { DeliveryPath } from '../../metrics/index.js';
import { exactStats, type EnvEvidence, type PathEvidence } from './env-evidence.js';
import { rankCauses } from './rank-causes.js';

function path(
  name: DeliveryPath,
  latencies: number[],
  dropped = 0,
  extra: Partial<PathEvidence> = {},
): PathEvidence {
  const delivered = latencies.length;
  return {
    path: name,
    delivered,
    late: 0,
    dropped,
    deliveredRatio: delivered / (delivered + dropped),
    duplicates: 0,
    outOfOrder: 0,
    gapMissed: 0,
    latencyMs: exactStats(latencies),
    ...extra,
  };
}

const around = (ms: number, n = 200) => Array.from({ length: n }, (_, i) => ms + (i % 10));

function phases(
  samples: Record<'tcp' | 'tls' | 'upgrade' | 'join', number[]>,
  resumed = 0,
): EnvEvidence['connectionPhases'] {
  return {
    phasesMs: {
      tcp: exactStats(samples.tcp),
      tls: exactStats(samples.tls),
      upgrade: exactStats(samples.upgrade),
      join: exactStats(samples.join),
    },
    tlsHandshakes: samples.tls.length,
    tlsResumed: resumed,
  };
}

function env(name: string, overrides: Partial<EnvEvidence> = {}): EnvEvidence {
  return {
    env: name,
    source: 'test',
    published: 200,
    publishErrors: {},
    paths: {
      postgres_changes: path('postgres_changes', around(20)),
      broadcast: path('broadcast', around(15)),
    },
    subscription: {
      joinAttempts: 10,
      subscribed: 10,
      statuses: { SUBSCRIBED: 10 },
      errorsByReason: {},
      reconnects: 0,
      timeToSubscribedMs: exactStats([30, 40]),
      readinessGapMs: exactStats([]),
      zombies: 0,
    },
    polling: { requests: 50, cacheableResponses: 0, stalenessMs: exactStats([100]), coveredGapEvents: 0 },
    connections: { peak: 10, limit: 200 },
    connectionPhases: phases({ tcp: [1, 2], tls: [8, 9], upgrade: [3, 4], join: [5, 6] }),
    harnessOverloaded: false,
    arrivalOrder: null,
    ...overrides,
  };
}

describe('rankCauses', () => {
  it('names a slow TLS edge when handshakes slow down and joins do not', () => {
    const slowTls = env('prod', {
      connectionPhases: phases({ tcp: [1, 2], tls: around(180, 20), upgrade: [3, 4], join: [5, 6] }, 4),
    });
    const ranking = rankCauses(env('dev'), slowTls);
    expect(ranking.causes[0]?.id).toBe('slow_tls_edge');
    expect(ranking.causes[0]?.evidence.join('\n')).toMatch(/TLS handshake p50 8 ms → 18\d ms/);
    expect(ranking.causes[0]?.evidence.join('\n')).toMatch(/channel join p50 5 ms → 5 ms/);
    // A slower join with the same TLS is not blamed on the edge.
    const slowJoin = env('prod', {
      connectionPhases: phases({ tcp: [1, 2], tls: [8, 9], upgrade: [3, 4], join: around(400, 20) }),
    });
    expect(rankCauses(env('dev'), slowJoin).causes.map((cause) => cause.id)).not.toContain('slow_tls_edge');
    // A baseline on ws:// has no handshake to compare: TLS itself is not blamed.
    const plainDev = env('dev', {
      connectionPhases: phases({ tcp: [1, 2], tls: [], upgrade: [3, 4], join: [5, 6] }),
    });
    expect(rankCauses(plainDev, slowTls).causes.map((cause) => cause.id)).not.toContain('slow_tls_edge');
  });

  it('says two identical environments match within noise and states the band', () => {
    const ranking = rankCauses(env('dev'), env('prod'));
    expect(ranking.withinNoise).toBe(true);
    expect(ranking.causes).toEqual([]);
    expect(ranking.noiseBand.minLatencyMs).toBeGreaterThan(0);
  });

  it('names network distance first when every path gains the same latency', () => {
    const prod = env('prod', {
      paths: {
        postgres_changes: path('postgres_changes', around(170)),
        broadcast: path('broadcast', around(165)),
      },
    });
    expect(rankCauses(env('dev'), prod).causes[0]?.id).toBe('network_latency');
  });

  it('names the broadcast path first when only broadcast is slow', () => {
    const prod = env('prod', {
      paths: {
        postgres_changes: path('postgres_changes', around(22)),
        broadcast: path('broadcast', around(520)),
      },
    });
    const ranking = rankCauses(env('dev'), prod);
    expect(ranking.causes[0]?.id).toBe('broadcast_path');
    expect(ranking.causes[0]?.evidence.join(' ')).toContain('broadcast: p50');
  });

  it('names publication or RLS first when postgres_changes delivers nothing while broadcast works', () => {
    const prod = env('prod', {
      paths: {
        postgres_changes: path('postgres_changes', [], 200),
        broadcast: path('broadcast', around(15)),
      },
    });
    expect(rankCauses(env('dev'), prod).causes[0]?.id).toBe('publication_or_rls');
  });

  it('names Realtime Authorization when db_broadcast joins are refused as unauthorized', () => {
    const paths = {
      postgres_changes: path('postgres_changes', around(20)),
      broadcast: path('broadcast', around(15)),
    };
    const dev = env('dev', { paths: { ...paths, db_broadcast: path('db_broadcast', around(12)) } });
    const prod = env('prod', {
      paths,
      subscription: { ...env('x').subscription, errorsByReason: { unauthorized: 12 } },
    });
    const ranking = rankCauses(dev, prod);
    expect(ranking.causes[0]?.id).toBe('private_channel_authorization');
    expect(ranking.causes[0]?.next).toContain('canary audit --env prod');
  });

  it('names the broadcast trigger when db_broadcast is subscribed but silent while postgres_changes flows', () => {
    const dev = env('dev', {
      paths: {
        postgres_changes: path('postgres_changes', around(20)),
        db_broadcast: path('db_broadcast', around(12)),
      },
    });
    const prod = env('prod', {
      paths: {
        postgres_changes: path('postgres_changes', around(20)),
        db_broadcast: path('db_broadcast', [], 200),
      },
    });
    const ranking = rankCauses(dev, prod);
    expect(ranking.causes[0]?.id).toBe('broadcast_trigger');
    expect(ranking.causes[0]?.evidence.join(' ')).toContain('rows change, nothing broadcasts them');
  });

  it('names websocket stability when reconnect gaps hold the drops', () => {
    const prod = env('prod', {
      paths: {
        postgres_changes: path('postgres_changes', around(20, 150), 50, { gapMissed: 45 }),
        broadcast: path('broadcast', around(15, 150), 50, { gapMissed: 45 }),
      },
      subscription: { ...env('x').subscription, reconnects: 8, errorsByReason: { transport: 8 } },
    });
    expect(rankCauses(env('dev'), prod).causes[0]?.id).toBe('websocket_stability');
  });

  it('names caching when the queue API answers cacheable, stale responses', () => {
    const prod = env('prod', {
      polling: { requests: 50, cacheableResponses: 50, stalenessMs: exactStats([4000]), coveredGapEvents: 0 },
    });
    expect(rankCauses(env('dev'), prod).causes[0]?.id).toBe('caching');
  });

  it('names the connection limit when joins are refused for it', () => {
    const prod = env('prod', {
      subscription: { ...env('x').subscription, errorsByReason: { connection_limit: 12 } },
    });
    expect(rankCauses(env('dev'), prod).causes[0]?.id).toBe('connection_limit');
  });

  it('names the readiness gap when changes start flowing seconds after SUBSCRIBED', () => {
    const prod = env('prod', {
      subscription: { ...env('x').subscription, readinessGapMs: exactStats([2000, 2100, 1900]) },
    });
    expect(rankCauses(env('dev'), prod).causes[0]?.id).toBe('readiness_gap');
  });

  it('warns when the harness was overloaded', () => {
    expect(rankCauses(env('dev'), env('prod', { harnessOverloaded: true })).warnings[0]).toContain(
      'overloaded',
    );
  });
});

describe('rankCauses on postgres_changes loss', () => {
  it('blames the postgres_changes path when it loses events outside reconnect gaps while broadcast is whole', () => {
    const prod = env('prod', {
      paths: {
        postgres_changes: path('postgres_changes', around(20, 140), 60),
        broadcast: path('broadcast', around(15)),
      },
    });
    expect(rankCauses(env('dev'), prod).causes[0]?.id).toBe('postgres_changes_path');
  });

  it('does not blame the path for drops that happened inside reconnect gaps', () => {
    const prod = env('prod', {
      paths: {
        postgres_changes: path('postgres_changes', around(20, 160), 40, { gapMissed: 40 }),
        broadcast: path('broadcast', around(15, 160), 40, { gapMissed: 40 }),
      },
      subscription: { ...env('x').subscription, reconnects: 6 },
    });
    const ids = rankCauses(env('dev'), prod).causes.map((cause) => cause.id);
    expect(ids[0]).toBe('websocket_stability');
    expect(ids).not.toContain('postgres_changes_path');
  });
});
