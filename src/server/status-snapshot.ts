/**
 * The contract between whatever measures (the probe runner) and what shows it (the exporter's JSON
 * and SSE routes and the live status page). It is plain JSON-serialisable data and holds no
 * secrets: no keys, tokens, URLs with credentials or database URLs — only names, counts and times.
 *
 * Shape: per environment → per probe → per delivery path.
 */
import { DELIVERY_PATHS, SUBSCRIPTION_STATUSES } from '../metrics/index.js';
import type { ClientKind, DeliveryPath, OutcomeCounts, SubscriptionStatus } from '../metrics/index.js';

/** A subscriber that has asked to join but has not heard back yet is `JOINING`. */
export type SubscriberState = SubscriptionStatus | 'JOINING';

export interface StatusSnapshot {
  /** ISO time the snapshot was taken. */
  generatedAt: string;
  /** Harness saturation at snapshot time; null when harness health is not being sampled. */
  harness: HarnessStatus | null;
  environments: EnvironmentStatus[];
}

export interface HarnessStatus {
  overloaded: boolean;
  eventLoopLagP99Ms: number;
  /** Fraction of one core over the last sampling window. */
  cpuRatio: number;
}

export interface EnvironmentStatus {
  /** Environment name from the config (e.g. `local`, `prod`). */
  name: string;
  probes: ProbeStatusView[];
  /** The synthetic mechanics' access tokens: source, state, expiry, renewals (never the token). */
  mechanics?: MechanicTokenView[];
}

export interface MechanicTokenView {
  /** The mechanic's user id. */
  mechanicId: string;
  /** password (signed in through Auth), mint (legacy secret) or env (pre-issued). */
  source: string;
  /** valid, renewing, retrying (renewal failing), expired, pending, stopped. */
  state: string;
  expiresAt: string | null;
  refreshes: number;
  refreshFailures: number;
  lastRefreshAt: string | null;
  lastError: string | null;
}

export interface ProbeStatusView {
  /** Probe name from its definition (e.g. `waiver-to-mechanic`). */
  name: string;
  /** Probe rounds whose every (event, subscriber, path) has a final outcome. */
  roundsCompleted: number;
  /** ISO time the last round finished; null before the first round completes. */
  lastRoundAt: string | null;
  /** True when the last round delivered every event on every path in time; null before the first. */
  lastRoundSuccess: boolean | null;
  subscribers: SubscriberGroup[];
  paths: PathStatus[];
  /** Current SLO judgements; empty until SLOs are evaluated for this probe. */
  slos: SloState[];
  /** Newest first, a small bounded window (the page shows the last 20 or so). */
  recentEvents: RecentEvent[];
}

export interface SubscriberGroup {
  client: ClientKind;
  /** How many subscribers of this kind the probe wants connected. */
  desired: number;
  /** Subscribers by current status; missing keys mean zero. */
  byStatus: Partial<Record<SubscriberState, number>>;
}

export interface PathStatus extends OutcomeCounts {
  path: DeliveryPath;
  /** Latency percentiles over the runner's recent window; null when nothing was delivered yet. */
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
  duplicates: number;
  /** delivered / (delivered + late + dropped); null when there is no final outcome yet. */
  deliveredRatio: number | null;
  /** Oldest first, bounded (a few hundred points at most): what the latency chart draws. */
  series: LatencyPoint[];
}

export interface LatencyPoint {
  /** ISO time the event was published. */
  at: string;
  /** Publish-to-receive latency, or null when the event was dropped on this path. */
  latencyMs: number | null;
}

export interface SloState {
  name: string;
  /** Target, e.g. 0.99 for "99 % of events within the deadline". */
  objective: number;
  /** Measured value in the same unit as the objective; null when there is not enough data. */
  current: number | null;
  met: boolean | null;
}

export interface RecentEvent {
  /** The canary event id carried in metadata.canary_event_id. */
  id: string;
  /** ISO time of publication. */
  publishedAt: string;
  /** Per path: latency in ms, `'dropped'`, or absent while the outcome is still pending. */
  latencyMs: Partial<Record<DeliveryPath, number | 'dropped'>>;
}

/**
 * What the exporter reads. `subscribe` is called once per live page connection; the listener
 * gets the whole new snapshot each time something changed (the exporter throttles).
 */
export interface StatusSource {
  snapshot(): StatusSnapshot;
  subscribe(listener: (snapshot: StatusSnapshot) => void): () => void;
}

/** A snapshot with nothing in it: what a source reports before any environment is configured. */
export function emptyStatusSnapshot(now: Date = new Date()): StatusSnapshot {
  return { generatedAt: now.toISOString(), harness: null, environments: [] };
}

/**
 * A field-by-field copy of exactly what the contract names. Producers may hand over richer
 * objects (a runner's internal state with its config and keys hanging off it); only the fields
 * above ever reach a route, so nothing a producer adds by accident is exposed.
 */
export function projectStatusSnapshot(snapshot: StatusSnapshot): StatusSnapshot {
  return {
    generatedAt: String(snapshot.generatedAt),
    harness: snapshot.harness
      ? {
          overloaded: Boolean(snapshot.harness.overloaded),
          eventLoopLagP99Ms: Number(snapshot.harness.eventLoopLagP99Ms),
          cpuRatio: Number(snapshot.harness.cpuRatio),
        }
      : null,
    environments: snapshot.environments.map((environment) => ({
      name: String(environment.name),
      probes: environment.probes.map(projectProbe),
      ...(Array.isArray(environment.mechanics)
        ? { mechanics: environment.mechanics.map(projectMechanic) }
        : {}),
    })),
  };
}

function projectMechanic(mechanic: MechanicTokenView): MechanicTokenView {
  return {
    mechanicId: String(mechanic.mechanicId),
    source: String(mechanic.source),
    state: String(mechanic.state),
    expiresAt: mechanic.expiresAt === null ? null : String(mechanic.expiresAt),
    refreshes: Number(mechanic.refreshes),
    refreshFailures: Number(mechanic.refreshFailures),
    lastRefreshAt: mechanic.lastRefreshAt === null ? null : String(mechanic.lastRefreshAt),
    lastError: mechanic.lastError === null ? null : String(mechanic.lastError).slice(0, 300),
  };
}

function projectProbe(probe: ProbeStatusView): ProbeStatusView {
  return {
    name: String(probe.name),
    roundsCompleted: Number(probe.roundsCompleted),
    lastRoundAt: probe.lastRoundAt === null ? null : String(probe.lastRoundAt),
    lastRoundSuccess: probe.lastRoundSuccess === null ? null : Boolean(probe.lastRoundSuccess),
    subscribers: probe.subscribers.map((group) => ({
      client: group.client,
      desired: Number(group.desired),
      byStatus: pickNumbers(group.byStatus, SUBSCRIBER_STATES),
    })),
    paths: probe.paths.map((path) => ({
      path: path.path,
      latencyMs: {
        p50: nullableNumber(path.latencyMs.p50),
        p95: nullableNumber(path.latencyMs.p95),
        p99: nullableNumber(path.latencyMs.p99),
      },
      delivered: Number(path.delivered),
      late: Number(path.late),
      dropped: Number(path.dropped),
      duplicates: Number(path.duplicates),
      deliveredRatio: nullableNumber(path.deliveredRatio),
      series: path.series.map((point) => ({
        at: String(point.at),
        latencyMs: nullableNumber(point.latencyMs),
      })),
    })),
    slos: probe.slos.map((slo) => ({
      name: String(slo.name),
      objective: Number(slo.objective),
      current: nullableNumber(slo.current),
      met: slo.met === null ? null : Boolean(slo.met),
    })),
    recentEvents: probe.recentEvents.map((event) => {
      const latencyMs: RecentEvent['latencyMs'] = {};
      for (const path of DELIVERY_PATHS) {
        const value = event.latencyMs[path];
        if (value === 'dropped') latencyMs[path] = 'dropped';
        else if (typeof value === 'number') latencyMs[path] = value;
      }
      return { id: String(event.id), publishedAt: String(event.publishedAt), latencyMs };
    }),
  };
}

const SUBSCRIBER_STATES: readonly SubscriberState[] = [...SUBSCRIPTION_STATUSES, 'JOINING'];

function pickNumbers<K extends string>(source: Partial<Record<K, number>>, keys: readonly K[]) {
  const picked: Partial<Record<K, number>> = {};
  for (const key of keys) {
    const value = source[key];
    if (typeof value === 'number') picked[key] = value;
  }
  return picked;
}

function nullableNumber(value: number | null): number | null {
  return value === null ? null : Number(value);
}
