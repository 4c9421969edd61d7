/**
 * The contract between whatever measures (the probe runner) and what shows it (the exporter's JSON
 * and SSE routes and the live status page). It is plain JSON-serialisable data and holds no
 * secrets: no keys, tokens, URLs with credentials or database URLs — only names, counts and times.
 *
 * Shape: per environment → per probe → per delivery path.
 */
import type { ClientKind, DeliveryPath, SubscriptionStatus } from '../metrics/index.js';

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

export interface PathStatus {
  path: DeliveryPath;
  /** Latency percentiles over the runner's recent window; null when nothing was delivered yet. */
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
  delivered: number;
  late: number;
  dropped: number;
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
