/**
 * The contract between the probe engine and the Realtime clients it drives. Both subscriber kinds
 * (the real supabase-js client and the lean Phoenix client) report the same statuses and the same
 * delivery measurements, so a probe can swap one for the other without changing what it counts.
 */
import type { PhaseTiming, ProjectTransport } from '../net/index.js';
import type { Clock } from '../shared/index.js';

/**
 * How an event reached a subscriber: a row change streamed from the WAL (postgres_changes), the
 * app's broadcast, or Broadcast from Database — the row's trigger calling
 * realtime.broadcast_changes(), received on a private channel (db_broadcast).
 */
export type RealtimePath = 'postgres_changes' | 'broadcast' | 'db_broadcast';

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
  | 'tls'
  | 'transport'
  | 'timeout'
  | 'binding_mismatch'
  | 'server'
  | 'closed'
  | 'other';

/** What an `auth` failure was, from Realtime's words; the metrics' `auth_reason` label. */
export type AuthReason = 'token_expired' | 'invalid_token' | 'key_refused' | 'unauthorized' | 'other';

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
  /**
   * postgres_changes: the commit_timestamp (ISO). db_broadcast: the row's `updated_at` (its
   * transaction's start — the closest to the commit a broadcast_changes payload carries). Absent
   * on app broadcasts.
   */
  commitTimestamp?: string;
  /** A db_broadcast message the server replayed on rejoin (`meta.replayed`). */
  replayed?: boolean;
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
  /**
   * How long each phase of a connection took: tcp, tls (wss only) and upgrade when a socket opens,
   * join when a channel's join is answered ok (the lean client; realtime-js hides its joins).
   */
  onTiming?(timing: PhaseTiming): void;
}

/** An access token that is renewed while the subscriber runs. */
export interface AccessTokenSource {
  current(): string;
  /** Called with each new token; returns the unsubscribe. */
  onRefresh(listener: (token: string) => void): () => void;
}

/** Outcome of one sign-in or refresh a subscriber's own client made. */
export interface ClientAuthEvent {
  type: 'sign_in' | 'refresh';
  ok: boolean;
  durationMs: number;
  /** The failure, without secrets. */
  message?: string;
}

export interface ClientSignIn {
  email: string;
  password: string;
  /** Milliseconds from now until the session should be refreshed (expiry and lifetime in ms). */
  refreshDelayMs(expiresAtMs: number, lifetimeMs: number): number;
  /** Milliseconds to wait after the n-th consecutive failure. */
  retryDelayMs(consecutiveFailures: number): number;
  onAuthEvent?(event: ClientAuthEvent): void;
}

export interface SubscriberConfig {
  /** Unique per subscriber, for logs. */
  id: string;
  supabaseUrl: string;
  anonKey: string;
  /**
   * The project's transport: the CAs trusted, one shared TLS context, session resumption and the
   * fetch supabase-js uses. Default: the system roots' shared transport.
   */
  transport?: ProjectTransport;
  /**
   * The mechanic's access token (a user JWT) now, and word of each renewal; channels are
   * authorised with it and told of every new one (the Phoenix `access_token` event).
   */
  tokens: AccessTokenSource;
  /**
   * supabase-js subscribers of password mechanics: the client signs in and keeps its own Auth
   * session (auth-js refreshes it, supabase-js hands each new token to realtime-js). Without it
   * the client is given the token from `tokens`.
   */
  signIn?: ClientSignIn;
  /** e.g. 'public' and 'session_assignments'. */
  schema: string;
  table: string;
  /** Channel name (without the `realtime:` prefix) for the postgres_changes subscription. */
  changesChannel: string;
  /** e.g. 'mechanic-assignments' and 'new_assignment'. */
  broadcastChannel: string;
  broadcastEvent: string;
  /**
   * Broadcast from Database: the private topic the assignments trigger broadcasts on, the events
   * listened to (e.g. INSERT), and whether a rejoin asks for the messages missed since the channel
   * was lost (Broadcast Replay, `since` = the moment it was lost minus `replayMarginMs`).
   */
  dbBroadcast?: DbBroadcastConfig;
  paths: RealtimePath[];
  clock: Clock;
  handlers: SubscriberHandlers;
  /** Join/push reply timeout; default 10 000 ms like realtime-js. */
  joinTimeoutMs?: number;
}

export interface DbBroadcastConfig {
  topic: string;
  event: string;
  replay: boolean;
  /** How far before the loss the replay starts (clock skew and in-flight messages); default 2 000 ms. */
  replayMarginMs?: number;
}

/** Supabase's bound on one replay. */
export const MAX_REPLAY_MESSAGES = 25;

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
