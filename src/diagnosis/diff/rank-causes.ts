/**
 * Turns two environments' evidence into a ranked list of likely causes, each with the numbers
 * behind it and the next check to run. `baseline` is the environment that works (dev), `suspect`
 * the one that does not (prod). A difference counts only when it leaves the noise band, and the
 * band used is part of the result.
 */
import type { DeliveryPath } from '../../metrics/index.js';
import type { EnvEvidence, PathEvidence } from './env-evidence.js';

export const CAUSES = {
  network_latency: {
    title: 'Network distance: latency added on every path',
    next: 'Compare canary_delivery_latency_seconds for all paths; run the canary next to the app servers (same region as the project) and diff again.',
  },
  broadcast_path: {
    title: 'Broadcast path: new_assignment late or missing while postgres_changes arrives',
    next: 'Check the app server logs for "Failed to broadcast new_assignment" and the broadcast timing; watch canary_delivery_outcomes_total{path="broadcast"}; rely on postgres_changes as the primary path.',
  },
  postgres_changes_path: {
    title: 'postgres_changes late or lost while broadcast is on time (replication or the change stream)',
    next: 'Run `canary audit --env <suspect>` (realtime.replication_slot lag, publication, RLS) and check the Realtime logs of the project for the replication connection.',
  },
  websocket_stability: {
    title: 'Websocket stability: drops clustered in reconnect gaps',
    next: 'Look at canary_reconnects_total and canary_subscription_gap_seconds; check proxies/load balancers idle timeouts and the heartbeat (25 s); make the dashboard refetch the queue on every SUBSCRIBED.',
  },
  caching: {
    title: 'Caching: the queue API serves stale or cacheable responses',
    next: 'curl -sI <queueUrl> and check Cache-Control/Age; make /api/mechanic/queue dynamic (no-store) at the CDN too.',
  },
  connection_limit: {
    title: 'Connection limit: joins refused near the plan cap',
    next: 'Run `canary audit --env <suspect>` (capacity checks) and compare concurrent Realtime connections with the plan limit in the Supabase dashboard.',
  },
  readiness_gap: {
    title: 'Readiness gap: SUBSCRIBED before changes flow, first events lost',
    next: 'Compare canary_readiness_gap_seconds; have the dashboard refetch the queue after SUBSCRIBED and wait for the postgres_changes system "Subscribed to PostgreSQL" message.',
  },
  private_channel_authorization: {
    title: 'Realtime Authorization: private db_broadcast joins refused (realtime.messages policies)',
    next: 'Run `canary audit --env <suspect>` (broadcast.messages_policy, evaluated as a mechanic on its topic) and compare the SELECT policies on realtime.messages with the baseline; check "private channels only" in Realtime settings.',
  },
  broadcast_trigger: {
    title:
      'Broadcast from Database: subscribed, rows change, but no broadcast_changes arrive (trigger missing or disabled)',
    next: "Run `canary audit --env <suspect>` (broadcast.trigger) — the session_assignments trigger must call realtime.broadcast_changes(); check that realtime.messages has today's partition (broadcast.partitions).",
  },
  slow_tls_edge: {
    title: 'Slow TLS edge: connections take longer to secure, joins do not',
    next: 'Compare canary_connection_phase_seconds{phase="tls"} with phase="join"; check the proxy or load balancer terminating TLS in front of the project (certificate chain size, OCSP, CPU), and canary_tls_handshakes_total{resumed="false"} — every full handshake costs the edge a signature.',
  },
  publication_or_rls: {
    title: 'Publication / RLS: no postgres_changes reach mechanics',
    next: 'Run `canary audit --env <suspect>` (realtime.publication and rls.realtime_select_policy) — Dashboard → Database → Replication → enable session_assignments.',
  },
} as const;

export type CauseId = keyof typeof CAUSES;

export interface NoiseBand {
  /** A latency difference must exceed max(minLatencyMs, relativeLatency × baseline p50). */
  minLatencyMs: number;
  relativeLatency: number;
  /** A delivered-ratio difference must exceed max(minRatio, 3 binomial standard errors). */
  minRatio: number;
  /** Polling latency and queue staleness move by up to one poll interval by chance. */
  minPollingMs?: number;
}

export const DEFAULT_NOISE_BAND: NoiseBand = { minLatencyMs: 25, relativeLatency: 0.5, minRatio: 0.02 };

export interface RankedCause {
  id: CauseId;
  title: string;
  /** Observed difference in units of the noise band; >= 1 means outside noise. */
  strength: number;
  evidence: string[];
  next: string;
}

export interface CauseRanking {
  baseline: string;
  suspect: string;
  noiseBand: NoiseBand;
  /** Causes outside the noise band, strongest first. */
  causes: RankedCause[];
  /** True when no cause leaves the noise band. */
  withinNoise: boolean;
  warnings: string[];
}

const REALTIME_PATHS: readonly DeliveryPath[] = ['postgres_changes', 'broadcast'];

function latencyBand(band: NoiseBand, baseline: PathEvidence | undefined): number {
  return Math.max(band.minLatencyMs, band.relativeLatency * (baseline?.latencyMs.p50 ?? 0));
}

function p50Delta(a: PathEvidence | undefined, b: PathEvidence | undefined): number | null {
  if (a?.latencyMs.p50 == null || b?.latencyMs.p50 == null) return null;
  return b.latencyMs.p50 - a.latencyMs.p50;
}

function ratioBand(band: NoiseBand, a: PathEvidence | undefined, b: PathEvidence | undefined): number {
  const n = Math.max(1, Math.min(due(a), due(b)));
  const p = a?.deliveredRatio ?? 1;
  return Math.max(band.minRatio, 3 * Math.sqrt(Math.max(p * (1 - p), 0.01) / n));
}

/** Delivered-ratio drop not explained by reconnect gaps (those are websocket stability). */
function lossOutsideGaps(a: PathEvidence | undefined, b: PathEvidence | undefined): number | null {
  if (!a || !b || due(a) === 0 || due(b) === 0) return null;
  const lost = (p: PathEvidence) => Math.max(0, p.dropped - p.gapMissed) / due(p);
  return lost(b) - lost(a);
}

function due(path: PathEvidence | undefined): number {
  return path ? path.delivered + path.late + path.dropped : 0;
}

const ms = (value: number | null | undefined) => (value == null ? 'n/a' : `${Math.round(value)} ms`);
const pct = (value: number | null | undefined) => (value == null ? 'n/a' : `${(value * 100).toFixed(1)} %`);

export function rankCauses(
  baseline: EnvEvidence,
  suspect: EnvEvidence,
  band: NoiseBand = DEFAULT_NOISE_BAND,
): CauseRanking {
  const candidates: RankedCause[] = [];
  const add = (id: CauseId, strength: number, evidence: string[]) => {
    candidates.push({
      id,
      title: CAUSES[id].title,
      strength,
      evidence,
      next: CAUSES[id].next.replaceAll('<suspect>', suspect.env),
    });
  };
  const a = baseline.paths;
  const b = suspect.paths;
  const warnings: string[] = [];
  for (const env of [baseline, suspect]) {
    if (env.harnessOverloaded)
      warnings.push(`the harness was overloaded while measuring ${env.env}: its latencies are not trusted`);
    if (env.published === 0)
      warnings.push(
        `${env.env}: no event was published — check publish errors (${JSON.stringify(env.publishErrors)})`,
      );
  }

  // Latency shifts per realtime path, in band units.
  const shift: Partial<Record<DeliveryPath, { delta: number; strength: number }>> = {};
  for (const path of [...REALTIME_PATHS, 'polling' as const]) {
    const delta = p50Delta(a[path], b[path]);
    if (delta === null) continue;
    const floor =
      path === 'polling'
        ? Math.max(band.minPollingMs ?? 0, latencyBand(band, a[path]))
        : latencyBand(band, a[path]);
    shift[path] = { delta, strength: delta / floor };
  }
  const pc = shift.postgres_changes;
  const bc = shift.broadcast;
  const pcDrop = lossOutsideGaps(a.postgres_changes, b.postgres_changes);
  const bcDrop = lossOutsideGaps(a.broadcast, b.broadcast);
  const pcDropStrength =
    pcDrop === null ? 0 : pcDrop / ratioBand(band, a.postgres_changes, b.postgres_changes);
  const bcDropStrength = bcDrop === null ? 0 : bcDrop / ratioBand(band, a.broadcast, b.broadcast);

  // Network distance: every measured path shifted by a similar amount.
  if (pc && bc && pc.strength >= 1 && bc.strength >= 1) {
    const low = Math.min(pc.delta, bc.delta);
    const high = Math.max(pc.delta, bc.delta);
    if (low >= 0.6 * high) {
      const evidence = [
        `postgres_changes p50 ${ms(a.postgres_changes?.latencyMs.p50)} → ${ms(b.postgres_changes?.latencyMs.p50)} (+${ms(pc.delta)})`,
        `broadcast p50 ${ms(a.broadcast?.latencyMs.p50)} → ${ms(b.broadcast?.latencyMs.p50)} (+${ms(bc.delta)})`,
      ];
      if (shift.polling) evidence.push(`polling p50 +${ms(shift.polling.delta)}`);
      add('network_latency', Math.min(pc.strength, bc.strength), evidence);
    }
  }

  // One realtime path slower or lossier than the other.
  const bcWorse = Math.max(
    bcDropStrength,
    bc && (!pc || pc.strength < 1 || bc.delta > 1.6 * pc.delta) ? bc.strength : 0,
  );
  if (bcWorse >= 1 && bcWorse > pcDropStrength) {
    const evidence = [
      `broadcast: p50 ${ms(a.broadcast?.latencyMs.p50)} → ${ms(b.broadcast?.latencyMs.p50)}, delivered ${pct(a.broadcast?.deliveredRatio)} → ${pct(b.broadcast?.deliveredRatio)}`,
      `postgres_changes: p50 ${ms(a.postgres_changes?.latencyMs.p50)} → ${ms(b.postgres_changes?.latencyMs.p50)}, delivered ${pct(a.postgres_changes?.deliveredRatio)} → ${pct(b.postgres_changes?.deliveredRatio)}`,
    ];
    if (suspect.arrivalOrder) {
      evidence.push(
        `broadcast arrived first for ${pct(suspect.arrivalOrder.broadcastFirstRatio)} of pairs in ${suspect.env} (median spread ${ms(suspect.arrivalOrder.medianSpreadMs)}) vs ${pct(baseline.arrivalOrder?.broadcastFirstRatio)} in ${baseline.env}`,
      );
    }
    if (suspect.publishErrors.broadcast)
      evidence.push(`${suspect.publishErrors.broadcast} broadcast publish errors in ${suspect.env}`);
    add('broadcast_path', bcWorse, evidence);
  }
  const pcB = b.postgres_changes;
  const pcA = a.postgres_changes;
  const totalLoss = pcB !== undefined && pcB.delivered + pcB.late === 0 && (pcA?.deliveredRatio ?? 0) > 0.5;
  const pcSlower = pc && (!bc || bc.strength < 1 || pc.delta > 1.6 * bc.delta) ? pc.strength : 0;
  const pcWorse = Math.max(pcSlower, pcDropStrength > bcDropStrength ? pcDropStrength : 0);
  if (pcWorse >= 1 && !totalLoss) {
    add('postgres_changes_path', pcWorse, [
      `postgres_changes: p50 ${ms(pcA?.latencyMs.p50)} → ${ms(pcB?.latencyMs.p50)}, delivered ${pct(pcA?.deliveredRatio)} → ${pct(pcB?.deliveredRatio)} (outside reconnect gaps)`,
      `broadcast: p50 moved ${ms(bc?.delta ?? null)}, delivered ${pct(a.broadcast?.deliveredRatio)} → ${pct(b.broadcast?.deliveredRatio)}`,
    ]);
  }

  // Reconnect gaps.
  const gapMissedA = REALTIME_PATHS.reduce((sum, path) => sum + (a[path]?.gapMissed ?? 0), 0);
  const gapMissedB = REALTIME_PATHS.reduce((sum, path) => sum + (b[path]?.gapMissed ?? 0), 0);
  const droppedB = REALTIME_PATHS.reduce((sum, path) => sum + (b[path]?.dropped ?? 0), 0);
  const reconnectDelta = suspect.subscription.reconnects - baseline.subscription.reconnects;
  if (reconnectDelta >= 1) {
    const transportErrors = suspect.subscription.errorsByReason.transport ?? 0;
    const gapShare = droppedB === 0 ? 0 : gapMissedB / droppedB;
    add('websocket_stability', Math.max(1, reconnectDelta / 2 + gapShare * 3), [
      `reconnects ${baseline.subscription.reconnects} → ${suspect.subscription.reconnects}; transport errors in ${suspect.env}: ${transportErrors}`,
      `events missed inside reconnect gaps: ${gapMissedA} → ${gapMissedB} (${pct(gapShare)} of ${suspect.env}'s realtime drops)`,
      `gap events the polling fallback still delivered: ${suspect.polling.coveredGapEvents}`,
    ]);
  }

  // Caching of the queue API.
  const cacheable = suspect.polling.cacheableResponses - baseline.polling.cacheableResponses;
  const staleA = baseline.polling.stalenessMs.p50 ?? 0;
  const staleB = suspect.polling.stalenessMs.p50 ?? 0;
  const pollingBand = Math.max(band.minLatencyMs, band.minPollingMs ?? 0);
  const staleStrength = (staleB - staleA) / Math.max(pollingBand, band.relativeLatency * staleA);
  const pollStrength =
    shift.polling && (pc?.strength ?? 0) < 1 && (bc?.strength ?? 0) < 1 ? shift.polling.strength : 0;
  const cachingStrength = Math.max(
    cacheable > 0 ? 1 + Math.log10(cacheable) : 0,
    staleStrength,
    pollStrength,
  );
  if (cachingStrength >= 1) {
    add('caching', cachingStrength, [
      `cacheable queue responses: ${baseline.polling.cacheableResponses} → ${suspect.polling.cacheableResponses} (of ${suspect.polling.requests} polls)`,
      `queue staleness p50 ${ms(staleA)} → ${ms(staleB)}; polling p50 ${ms(a.polling?.latencyMs.p50)} → ${ms(b.polling?.latencyMs.p50)}`,
    ]);
  }

  // Connection limits.
  const refusedB =
    (suspect.subscription.errorsByReason.connection_limit ?? 0) +
    (suspect.subscription.errorsByReason.rate_limit ?? 0);
  const refusedA =
    (baseline.subscription.errorsByReason.connection_limit ?? 0) +
    (baseline.subscription.errorsByReason.rate_limit ?? 0);
  if (refusedB - refusedA >= 1) {
    const limit = suspect.connections.limit;
    add('connection_limit', 1 + Math.log2(refusedB - refusedA), [
      `joins refused for connection/rate limits: ${refusedA} → ${refusedB}`,
      `peak concurrent subscribers ${suspect.connections.peak}${limit === null ? '' : ` against a configured limit of ${limit}`}`,
    ]);
  }

  // Readiness gap.
  const gapP50A = baseline.subscription.readinessGapMs.p50 ?? 0;
  const gapP50B = suspect.subscription.readinessGapMs.p50 ?? 0;
  const readinessStrength =
    (gapP50B - gapP50A) / Math.max(band.minLatencyMs * 4, band.relativeLatency * gapP50A);
  if (readinessStrength >= 1) {
    add('readiness_gap', readinessStrength, [
      `SUBSCRIBED → first deliverable change p50 ${ms(gapP50A)} → ${ms(gapP50B)} (${suspect.subscription.readinessGapMs.count} measured)`,
    ]);
  }

  // TLS slower while joins are not: the edge, not Realtime. Only between two TLS environments: a
  // baseline on ws:// has no handshake to compare, and TLS itself is not a fault (the table shows it).
  const tlsA = baseline.connectionPhases.phasesMs.tls;
  const tlsB = suspect.connectionPhases.phasesMs.tls;
  if (tlsA.count > 0 && tlsB.count > 0 && tlsA.p50 !== null && tlsB.p50 !== null) {
    const tlsStrength = (tlsB.p50 - tlsA.p50) / Math.max(band.minLatencyMs, band.relativeLatency * tlsA.p50);
    if (tlsStrength >= 1) {
      const joinA = baseline.connectionPhases.phasesMs.join;
      const joinB = suspect.connectionPhases.phasesMs.join;
      add('slow_tls_edge', tlsStrength, [
        `TLS handshake p50 ${ms(tlsA.p50)} → ${ms(tlsB.p50)} (p95 ${ms(tlsA.p95)} → ${ms(tlsB.p95)})`,
        `channel join p50 ${ms(joinA.p50)} → ${ms(joinB.p50)}`,
        `${suspect.connectionPhases.tlsResumed} of ${suspect.connectionPhases.tlsHandshakes} handshakes in ${suspect.env} resumed a session`,
      ]);
    }
  }

  // Nothing on postgres_changes for anyone.
  if (pcB && totalLoss) {
    const broadcastFine = (b.broadcast?.deliveredRatio ?? 0) > 0.5;
    add('publication_or_rls', 10 + (broadcastFine ? 5 : 0), [
      `postgres_changes delivered 0 of ${due(pcB)} in ${suspect.env} (vs ${pct(pcA?.deliveredRatio)} in ${baseline.env})`,
      broadcastFine
        ? `broadcast still delivered ${pct(b.broadcast?.deliveredRatio)}: the socket works, the change stream does not`
        : 'broadcast is failing too',
    ]);
  }

  // Broadcast from Database: refused joins (authorization) or silence while subscribed (trigger).
  const dbA = a.db_broadcast;
  const dbB = b.db_broadcast;
  const unauthorizedDelta =
    (suspect.subscription.errorsByReason.unauthorized ?? 0) -
    (baseline.subscription.errorsByReason.unauthorized ?? 0);
  const dbWorkedInBaseline = (dbA?.deliveredRatio ?? 0) > 0.5;
  const dbSilent = dbB === undefined || dbB.delivered + dbB.late === 0;
  if (dbWorkedInBaseline && dbSilent && unauthorizedDelta >= 1) {
    add('private_channel_authorization', 10 + Math.log2(unauthorizedDelta), [
      `db_broadcast delivered ${pct(dbA?.deliveredRatio)} in ${baseline.env}, nothing in ${suspect.env} (${due(dbB)} due)`,
      `joins refused as unauthorized: ${baseline.subscription.errorsByReason.unauthorized ?? 0} → ${suspect.subscription.errorsByReason.unauthorized ?? 0}`,
    ]);
  } else if (dbWorkedInBaseline && dbB !== undefined && due(dbB) > 0 && dbSilent) {
    const changesFlow = (pcB?.deliveredRatio ?? 0) > 0.5;
    add('broadcast_trigger', 10 + (changesFlow ? 5 : 0), [
      `db_broadcast delivered 0 of ${due(dbB)} in ${suspect.env} while subscribed (vs ${pct(dbA?.deliveredRatio)} in ${baseline.env})`,
      changesFlow
        ? `postgres_changes still delivered ${pct(pcB?.deliveredRatio)}: rows change, nothing broadcasts them`
        : 'postgres_changes is failing too',
    ]);
  }

  const causes = candidates.filter((cause) => cause.strength >= 1).sort((x, y) => y.strength - x.strength);
  return {
    baseline: baseline.env,
    suspect: suspect.env,
    noiseBand: band,
    causes,
    withinNoise: causes.length === 0,
    warnings,
  };
}
