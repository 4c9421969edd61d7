/**
 * What can be made to go wrong in the local target, as one validated settings object.
 * Set at start (flags / config) and changed at runtime through the admin API. Each fault is
 * scoped to the delivery path it affects. Durations are milliseconds, probabilities 0..1.
 */
import { z } from 'zod';

const probability = z.number().min(0).max(1);
const millis = z.number().int().min(0).max(600_000);

/** Delay and loss on one delivery path. Delay = delayMs + uniform(-jitterMs, +jitterMs), floored at 0. */
export const pathFaultSchema = z
  .object({
    delayMs: millis.default(0),
    jitterMs: millis.default(0),
    dropRate: probability.default(0),
  })
  .strict();

const longMillis = z.number().int().min(0).max(86_400_000);

export const authFaultSchema = z
  .object({
    /** POST /auth/v1/token?grant_type=refresh_token: delay before answering, and a failure rate. */
    refresh: z
      .object({
        delayMs: millis.default(0),
        jitterMs: millis.default(0),
        failRate: probability.default(0),
        /** Status of an injected failure, answered with GoTrue's body for it (500, 429, 503, 504…). */
        failStatus: z.number().int().min(400).max(599).default(500),
      })
      .strict()
      .default({ delayMs: 0, jitterMs: 0, failRate: 0, failStatus: 500 }),
    /** Access tokens are issued with `iat` and `exp` shifted by this many seconds (+ = future). */
    clockSkewSeconds: z.number().int().min(-86_400).max(86_400).default(0),
    /** Signing-key rotation mid-run: every `everyMs` a new key becomes current; the old one is revoked `overlapMs` later. */
    keyRotation: z
      .object({ everyMs: longMillis.default(0), overlapMs: longMillis.default(0) })
      .strict()
      .default({ everyMs: 0, overlapMs: 0 }),
  })
  .strict();

export const faultSettingsSchema = z
  .object({
    /** postgres_changes deliveries to websocket subscribers. */
    postgresChanges: pathFaultSchema.default({ delayMs: 0, jitterMs: 0, dropRate: 0 }),
    /** Broadcast fan-out to websocket subscribers (client sends and server-side sends alike). */
    broadcast: pathFaultSchema.default({ delayMs: 0, jitterMs: 0, dropRate: 0 }),
    /**
     * The REST broadcast endpoint (POST /realtime/v1/api/broadcast), which the app's waiver
     * step uses: delay before the 202 (the seed's "broadcast may take 500 ms+") and a failure rate
     * (answers 500, nothing is sent).
     */
    restBroadcast: z
      .object({ delayMs: millis.default(0), jitterMs: millis.default(0), failRate: probability.default(0) })
      .strict()
      .default({ delayMs: 0, jitterMs: 0, failRate: 0 }),
    /** The app's polling API (GET /api/mechanic/queue). */
    polling: z
      .object({
        delayMs: millis.default(0),
        /** Serve a cached snapshot up to this old (ms), like a CDN in front of the API. 0 = always fresh. */
        staleMs: millis.default(0),
        /** Send cacheable headers (Cache-Control: public, max-age) instead of the no-cache set. */
        cacheableHeaders: z.boolean().default(false),
      })
      .strict()
      .default({ delayMs: 0, staleMs: 0, cacheableHeaders: false }),
    /** Server-initiated websocket disconnects. */
    disconnects: z
      .object({
        /** Every N ms close sockets; 0 = off. */
        everyMs: millis.default(0),
        /** Fraction of open sockets closed at each tick (random choice). */
        fraction: probability.default(1),
        /** Close code the server uses. */
        code: z.number().int().min(1000).max(4999).default(1006),
      })
      .strict()
      .default({ everyMs: 0, fraction: 1, code: 1006 }),
    /** Lower concurrent-connection cap than the plan's; null = use the plan limit. */
    connectionCap: z.number().int().min(0).nullable().default(null),
    /** Stop reading the replication slot: changes pile up (lag grows) and flow again on resume. */
    replicationPaused: z.boolean().default(false),
    /** After SUBSCRIBED, postgres_changes do not flow to the new subscription for this long (realtime-js#525). */
    readinessGapMs: millis.default(0),
    /** session_assignments removed from the supabase_realtime publication (applied in SQL). */
    publicationMissing: z.boolean().default(false),
    /** The realtime SELECT policy for mechanics dropped (applied in SQL). */
    realtimeSelectPolicyMissing: z.boolean().default(false),
    /** The example realtime.messages SELECT policy for mechanics dropped: private joins are refused (SQL). */
    messagesPolicyMissing: z.boolean().default(false),
    /** The Broadcast-from-Database trigger on session_assignments dropped (SQL). */
    broadcastTriggerMissing: z.boolean().default(false),
    /** Broadcast Replay fails: a private join asking for replay gets Supabase's replay error. */
    replayUnavailable: z.boolean().default(false),
    /**
     * A target serving TLS holds each new connection this long before its handshake starts (a slow
     * TLS edge: a loaded terminator, a far-away proxy). Plain http targets ignore it.
     */
    tlsHandshakeDelayMs: millis.default(0),
    /** Every insert into realtime.messages sleeps this long in the writer's transaction (SQL). */
    messageInsertDelayMs: z.number().int().min(0).max(10_000).default(0),
    /** The Auth path: token refresh, token clocks and signing keys. */
    auth: authFaultSchema.default({
      refresh: { delayMs: 0, jitterMs: 0, failRate: 0, failStatus: 500 },
      clockSkewSeconds: 0,
      keyRotation: { everyMs: 0, overlapMs: 0 },
    }),
  })
  .strict();

export type FaultSettings = z.infer<typeof faultSettingsSchema>;
export type FaultSettingsInput = z.input<typeof faultSettingsSchema>;
export type PathFault = z.infer<typeof pathFaultSchema>;

/** Fault names as counted in the target's `target_faults_injected_total{fault,path}`. */
export const FAULT_KINDS = [
  'delay',
  'drop',
  'rest_broadcast_fail',
  'disconnect',
  'connection_refused_cap',
  'replication_paused',
  'readiness_gap_lost',
  'stale_poll',
  /** session_assignments taken out of the supabase_realtime publication (counted when applied). */
  'publication_missing',
  /** The mechanics' realtime SELECT policy dropped (counted when applied). */
  'realtime_policy_missing',
  /** The realtime.messages SELECT policy for mechanics dropped (counted when applied). */
  'messages_policy_missing',
  /** The session_assignments broadcast trigger dropped (counted when applied). */
  'broadcast_trigger_missing',
  /** A join asking for replay refused by the replay fault. */
  'replay_unavailable',
  /** realtime.messages inserts slowed (counted when applied). */
  'message_insert_slow',
  /** A refresh_token grant answered with an injected error. */
  'refresh_fail',
  /** An access token issued with a skewed clock. */
  'clock_skew',
  /** A signing key made current (or the previous one revoked) by the rotation fault. */
  'key_rotation',
  /** A TLS connection held before its handshake by the handshake-delay fault. */
  'tls_handshake_delay',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export function defaultFaultSettings(): FaultSettings {
  return faultSettingsSchema.parse({});
}
