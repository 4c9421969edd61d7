/**
 * The contract between the probe engine and the Realtime clients it drives. Both subscriber kinds
 * (the real supabase-js client and the lean Phoenix client) report the same statuses and the same
 * delivery measurements, so a probe can swap one for the other without changing what it counts.
 */
import type { Clock } from '../shared/index.js';

/** How an event reached a subscriber: a row change streamed from the WAL, or the app's broadcast. */
export type RealtimePath = 'postgres_changes' | 'broadcast';

/** Which client implementation a subscriber runs; the same strings as the metrics' client label. */
export type ClientKind = 'supabase-js' | 'lean';

/** The statuses realtime-js passes to `channel.subscribe((status) => …)`. */
export type SubscriptionStatus = 'SUBSCRIBED' | 'CHANNEL_ERROR' | 'TIMED_OUT' | 'CLOSED';

/** Supabase's many error strings folded into a small, label-safe set (see error-reason.ts). */
export type ErrorReason =
  | 'auth'
  | 'unauthorized'
  | 'rate_limit'
  | 'connection_limit'
  | 'transport'
  | 'timeout'
  | 'binding_mismatch'
  | 'server'
  | 'closed'
  | 'other';

/** Correlation keys carried by a delivery; either may be missing when the app drops metadata. */
export interface DeliveryKeys {
  eventId?: string;
  assignmentId?: string;
}

export interface Delivery {
  path: RealtimePath;
  keys: DeliveryKeys;
  /** clock.now() (monotonic ms) taken as early as possible on receipt, before any parsing. */
  receivedAt: number;
  /** postgres_changes commit_timestamp (ISO); absent on broadcasts. */
  commitTimestamp?: string;
}

export interface StatusChange {
  status: SubscriptionStatus;
  /** clock.now() when the transition was observed. */
  at: number;
  channel: RealtimePath;
  reason?: ErrorReason;
  /** The raw error text (never containing tokens), for logs and diagnosis. */
  message?: string;
}

export interface SubscriberHandlers {
  onStatus(change: StatusChange): void;
  onDelivery(delivery: Delivery): void;
}

export interface SubscriberConfig {
  /** Unique per subscriber, for logs. */
  id: string;
  supabaseUrl: string;
  anonKey: string;
  /** The mechanic's JWT (user token); channels are authorised with it. */
  accessToken: string;
  /** e.g. 'public' and 'session_assignments'. */
  schema: string;
  table: string;
  /** Channel name (without the `realtime:` prefix) for the postgres_changes subscription. */
  changesChannel: string;
  /** e.g. 'mechanic-assignments' and 'new_assignment'. */
  broadcastChannel: string;
  broadcastEvent: string;
  paths: RealtimePath[];
  clock: Clock;
  handlers: SubscriberHandlers;
  /** Join/push reply timeout; default 10 000 ms like realtime-js. */
  joinTimeoutMs?: number;
}

export interface Subscriber {
  readonly id: string;
  readonly kind: ClientKind;
  /** Connect and join; statuses and deliveries then arrive through the handlers. */
  start(): void;
  /** Leave, close the socket and stop every timer; no handler is called afterwards. */
  stop(): Promise<void>;
}

export type SubscriberFactory = (config: SubscriberConfig) => Subscriber;

export const DEFAULT_JOIN_TIMEOUT_MS = 10_000;
