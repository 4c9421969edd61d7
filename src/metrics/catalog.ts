/**
 * The metric catalogue: every metric the harness exports, declared once — name, type, help,
 * unit and labels. The exporter, the SLO evaluator, the alert rules, the dashboards and
 * docs/metrics.md all read this module; nobody retypes a metric name elsewhere.
 *
 * Conventions (Prometheus): snake_case, `canary_` prefix, base units with a unit suffix
 * (`_seconds`, `_bytes`), counters end in `_total`. Labels are low-cardinality only.
 */

/** Delivery paths a mechanic dashboard can learn about a new assignment through. */
export const DELIVERY_PATHS = ['postgres_changes', 'broadcast', 'polling', 'db_broadcast'] as const;
export type DeliveryPath = (typeof DELIVERY_PATHS)[number];

/** Final state of one (event, subscriber, path): exactly one per triple. */
export const OUTCOMES = ['delivered', 'late', 'dropped'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Subscriber implementations behind the one Subscriber interface. */
export const CLIENT_KINDS = ['supabase-js', 'lean'] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];

/** Channel statuses as supabase-js reports them. */
export const SUBSCRIPTION_STATUSES = ['SUBSCRIBED', 'CHANNEL_ERROR', 'TIMED_OUT', 'CLOSED'] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

/**
 * Small fixed set of reasons Supabase's error strings are mapped to (see src/realtime).
 * Keeping this closed keeps the `reason` label low-cardinality.
 */
export const ERROR_REASONS = [
  'auth', // InvalidJWTToken, MalformedJWT, JwtSignatureError, 401 at upgrade
  'unauthorized', // Unauthorized: no permission for the topic
  'rate_limit', // Too many joins/messages/channels per second
  'connection_limit', // Too many connected users / channels per connection
  'tls', // certificate not trusted / expired / wrong name; a plain-http port answering TLS
  'transport', // socket closed, transport failure, heartbeat timeout
  'timeout', // no join reply within the push timeout
  'binding_mismatch', // postgres_changes binding mismatch
  'server', // server-side error (Unknown error, Realtime disabled, tenant not found)
  'closed', // channel closed by the server
  'other',
] as const;
export type ErrorReason = (typeof ERROR_REASONS)[number];

/** What an auth failure of a subscription was, from Realtime's words (see src/realtime/error-reason.ts). */
export const AUTH_REASONS = [
  'token_expired',
  'invalid_token',
  'key_refused',
  'unauthorized',
  'other',
] as const;
export type AuthReason = (typeof AUTH_REASONS)[number];

/**
 * Phases of opening a Realtime connection (src/net/connection-timing.ts): TCP connect, TLS
 * handshake (wss only), websocket upgrade, channel join. time to SUBSCRIBED ≈ their sum.
 */
export const CONNECTION_PHASES = ['tcp', 'tls', 'upgrade', 'join'] as const;
export type ConnectionPhaseLabel = (typeof CONNECTION_PHASES)[number];

/** Publisher modes: through the app's HTTP endpoint, or the way the app does it. */
export const PUBLISH_MODES = ['app_endpoint', 'direct'] as const;
export type PublishMode = (typeof PUBLISH_MODES)[number];

export type MetricType = 'counter' | 'gauge' | 'histogram';

/**
 * What a metric's value measures. Names carry it as a suffix where Prometheus conventions have one
 * (`_seconds`, `_bytes`, `_ratio`, `_info`); `count` is a number of things (counters end `_total`),
 * `events_per_second` a rate the harness sets itself (not one Prometheus derives with rate()).
 * Dashboards pick their Grafana unit from it (src/dashboards).
 */
export const METRIC_UNITS = [
  'seconds',
  'bytes',
  'ratio',
  'count',
  'events_per_second',
  'boolean',
  'info',
] as const;
export type MetricUnit = (typeof METRIC_UNITS)[number];

export interface MetricSpec<L extends string = string> {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly unit: MetricUnit;
  readonly labels: readonly L[];
  readonly buckets?: readonly number[];
}

/** 5 ms … 30 s, as delivery SLOs need resolution from "instant" to "the deadline". */
export const LATENCY_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;

/** Connection phases are milliseconds on a healthy link and seconds on a sick one. */
export const CONNECTION_PHASE_BUCKETS_SECONDS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;
export const SUBSCRIBE_BUCKETS_SECONDS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;

/** Keeps each entry's literal name, type and label tuple, so instruments are typed by their labels. */
function metric<const S extends MetricSpec>(spec: S): S {
  return spec;
}

export const catalog = {
  // ── Publishing ───────────────────────────────────────────────────────────────
  eventsPublished: metric({
    name: 'canary_events_published_total',
    type: 'counter',
    help: 'Synthetic waiver events published (one row + one new_assignment broadcast each).',
    unit: 'count',
    labels: ['env', 'probe', 'mode'],
  }),
  publishErrors: metric({
    name: 'canary_publish_errors_total',
    type: 'counter',
    help: 'Synthetic waiver publications that failed, by step (insert, broadcast, endpoint).',
    unit: 'count',
    labels: ['env', 'probe', 'step'],
  }),
  publishDuration: metric({
    name: 'canary_publish_duration_seconds',
    type: 'histogram',
    help: 'Time the publisher spent submitting one synthetic waiver.',
    unit: 'seconds',
    labels: ['env', 'probe', 'mode'],
    buckets: LATENCY_BUCKETS_SECONDS,
  }),

  // ── Delivery accounting ───────────────────────────────────────────────────────
  deliveryOutcomes: metric({
    name: 'canary_delivery_outcomes_total',
    type: 'counter',
    help: 'Final outcome of each (event, subscriber, path): delivered within the deadline, late, or dropped. The SLI total.',
    unit: 'count',
    labels: ['env', 'probe', 'path', 'outcome'],
  }),
  deliveryLatency: metric({
    name: 'canary_delivery_latency_seconds',
    type: 'histogram',
    help: 'Publish-to-receive latency on the harness monotonic clock, per delivery path (delivered and late events).',
    unit: 'seconds',
    labels: ['env', 'probe', 'path'],
    buckets: LATENCY_BUCKETS_SECONDS,
  }),
  commitToReceive: metric({
    name: 'canary_commit_to_receive_seconds',
    type: 'histogram',
    help: 'Database commit_timestamp to receive, wall clock: sensitive to clock skew between database and harness.',
    unit: 'seconds',
    labels: ['env', 'probe', 'path'],
    buckets: LATENCY_BUCKETS_SECONDS,
  }),
  duplicates: metric({
    name: 'canary_events_duplicate_total',
    type: 'counter',
    help: 'Deliveries of an event a subscriber had already seen on the same path.',
    unit: 'count',
    labels: ['env', 'probe', 'path'],
  }),
  replayRecovered: metric({
    name: 'canary_events_replay_recovered_total',
    type: 'counter',
    help: 'Events first seen in a Broadcast Replay after a rejoin: recovered from the reconnect gap, not lost in it.',
    unit: 'count',
    labels: ['env', 'probe', 'path'],
  }),
  outOfOrder: metric({
    name: 'canary_events_out_of_order_total',
    type: 'counter',
    help: 'Deliveries that arrived after a later-published event on the same subscriber and path.',
    unit: 'count',
    labels: ['env', 'probe', 'path'],
  }),
  untrustedMeasurements: metric({
    name: 'canary_untrusted_measurements_total',
    type: 'counter',
    help: 'Deliveries measured while the harness was overloaded; flagged, excluded from latency SLIs.',
    unit: 'count',
    labels: ['env', 'probe', 'path'],
  }),

  // ── Subscription health ───────────────────────────────────────────────────────
  subscribersDesired: metric({
    name: 'canary_subscribers_desired',
    type: 'gauge',
    help: 'Mechanic subscribers the probe wants connected.',
    unit: 'count',
    labels: ['env', 'probe', 'client'],
  }),
  subscribersConnected: metric({
    name: 'canary_subscribers_connected',
    type: 'gauge',
    help: 'Mechanic subscribers currently SUBSCRIBED.',
    unit: 'count',
    labels: ['env', 'probe', 'client'],
  }),
  subscriptionTransitions: metric({
    name: 'canary_subscription_status_total',
    type: 'counter',
    help: 'Channel status transitions reported by the client (SUBSCRIBED, CHANNEL_ERROR, TIMED_OUT, CLOSED).',
    unit: 'count',
    labels: ['env', 'probe', 'client', 'status'],
  }),
  subscriptionErrors: metric({
    name: 'canary_subscription_errors_total',
    type: 'counter',
    help: 'Subscription failures by reason (Supabase error strings mapped to a small fixed set).',
    unit: 'count',
    labels: ['env', 'probe', 'client', 'reason'],
  }),
  joinAttempts: metric({
    name: 'canary_join_attempts_total',
    type: 'counter',
    help: 'Channel join attempts; with canary_subscription_status_total{status="SUBSCRIBED"} gives join success.',
    unit: 'count',
    labels: ['env', 'probe', 'client'],
  }),
  timeToSubscribed: metric({
    name: 'canary_time_to_subscribed_seconds',
    type: 'histogram',
    help: 'From subscribe() to SUBSCRIBED.',
    unit: 'seconds',
    labels: ['env', 'probe', 'client'],
    buckets: SUBSCRIBE_BUCKETS_SECONDS,
  }),
  connectionPhase: metric({
    name: 'canary_connection_phase_seconds',
    type: 'histogram',
    help: 'Each phase of opening a Realtime connection: tcp, tls (wss only), upgrade, join (lean client). Tells a slow TLS edge from a slow join.',
    unit: 'seconds',
    labels: ['env', 'probe', 'client', 'phase'],
    buckets: CONNECTION_PHASE_BUCKETS_SECONDS,
  }),
  tlsHandshakes: metric({
    name: 'canary_tls_handshakes_total',
    type: 'counter',
    help: 'TLS handshakes of Realtime sockets; resumed="true" reused an earlier session (no certificate exchange).',
    unit: 'count',
    labels: ['env', 'probe', 'client', 'resumed'],
  }),
  readinessGap: metric({
    name: 'canary_readiness_gap_seconds',
    type: 'histogram',
    help: 'From SUBSCRIBED to the first change the subscriber could actually receive (changes written earlier are lost).',
    unit: 'seconds',
    labels: ['env', 'probe', 'path'],
    buckets: SUBSCRIBE_BUCKETS_SECONDS,
  }),
  reconnects: metric({
    name: 'canary_reconnects_total',
    type: 'counter',
    help: 'Times a subscriber re-reached SUBSCRIBED after losing it.',
    unit: 'count',
    labels: ['env', 'probe', 'client'],
  }),
  gapDuration: metric({
    name: 'canary_subscription_gap_seconds',
    type: 'histogram',
    help: 'Length of each period a subscriber was not SUBSCRIBED after having been.',
    unit: 'seconds',
    labels: ['env', 'probe', 'client'],
    buckets: SUBSCRIBE_BUCKETS_SECONDS,
  }),
  gapEventsMissed: metric({
    name: 'canary_gap_events_missed_total',
    type: 'counter',
    help: 'Events published while a subscriber was in a gap and never delivered to it on that path.',
    unit: 'count',
    labels: ['env', 'probe', 'path'],
  }),
  gapEventsCoveredByPolling: metric({
    name: 'canary_gap_events_covered_by_polling_total',
    type: 'counter',
    help: 'Events missed on a realtime path during a gap that the polling fallback still delivered.',
    unit: 'count',
    labels: ['env', 'probe'],
  }),
  zombieSubscribers: metric({
    name: 'canary_zombie_subscribers',
    type: 'gauge',
    help: 'Subscribers that are SUBSCRIBED but missed the last N events other subscribers received.',
    unit: 'count',
    labels: ['env', 'probe', 'path'],
  }),

  // ── Polling fallback ──────────────────────────────────────────────────────────
  pollRequests: metric({
    name: 'canary_poll_requests_total',
    type: 'counter',
    help: 'Requests to the queue polling API, by HTTP status class.',
    unit: 'count',
    labels: ['env', 'probe', 'status'],
  }),
  pollCacheable: metric({
    name: 'canary_poll_cacheable_responses_total',
    type: 'counter',
    help: 'Queue API responses whose headers allow caching (no no-store / no-cache): a stale-queue risk.',
    unit: 'count',
    labels: ['env', 'probe'],
  }),
  pollStaleness: metric({
    name: 'canary_poll_staleness_seconds',
    type: 'histogram',
    help: 'Age of the queue snapshot a poll returned: now minus the newest assignment it should already contain.',
    unit: 'seconds',
    labels: ['env', 'probe'],
    buckets: LATENCY_BUCKETS_SECONDS,
  }),

  // ── Probe runs ────────────────────────────────────────────────────────────────
  probeRuns: metric({
    name: 'canary_probe_runs_total',
    type: 'counter',
    help: 'Completed probe rounds by result (success, failure).',
    unit: 'count',
    labels: ['env', 'probe', 'result'],
  }),
  probeSuccess: metric({
    name: 'canary_probe_success',
    type: 'gauge',
    help: 'Blackbox-style: 1 if the last probe round delivered every event on every path within the deadline.',
    unit: 'boolean',
    labels: ['env', 'probe'],
  }),
  probeDuration: metric({
    name: 'canary_probe_duration_seconds',
    type: 'histogram',
    help: 'Wall time of a probe round, publish to last outcome.',
    unit: 'seconds',
    labels: ['env', 'probe'],
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  }),
  probeLastRun: metric({
    name: 'canary_probe_last_run_timestamp_seconds',
    type: 'gauge',
    help: 'Unix time the last probe round finished; staleness alerts read it.',
    unit: 'seconds',
    labels: ['env', 'probe'],
  }),

  // ── Mechanic auth (token lifecycle) ──────────────────────────────────────────
  authSignIns: metric({
    name: 'canary_auth_sign_in_duration_seconds',
    type: 'histogram',
    help: 'Password sign-ins of synthetic mechanics through Supabase Auth (and re-mints of legacy tokens), by outcome.',
    unit: 'seconds',
    labels: ['env', 'outcome'],
    buckets: SUBSCRIBE_BUCKETS_SECONDS,
  }),
  authRefreshes: metric({
    name: 'canary_auth_refreshes_total',
    type: 'counter',
    help: 'Mechanic token renewals (refresh-token grants, or re-mints), by outcome; failures are retried with backoff.',
    unit: 'count',
    labels: ['env', 'outcome'],
  }),
  authTokenExpiry: metric({
    name: 'canary_auth_token_expiry_seconds',
    type: 'gauge',
    help: 'Seconds until the earliest mechanic access token of the environment expires (negative once expired).',
    unit: 'seconds',
    labels: ['env'],
  }),
  authTokensOverdue: metric({
    name: 'canary_auth_tokens_overdue',
    type: 'gauge',
    help: 'Mechanic tokens past their renewal time without a successful renewal (refresh failing, or a pre-issued token expired).',
    unit: 'count',
    labels: ['env'],
  }),
  authSubscriptionErrors: metric({
    name: 'canary_auth_subscription_errors_total',
    type: 'counter',
    help: 'Subscription failures caused by auth, by what Realtime said: token_expired, invalid_token, key_refused, unauthorized.',
    unit: 'count',
    labels: ['env', 'probe', 'client', 'auth_reason'],
  }),
  authExcluded: metric({
    name: 'canary_auth_excluded_deliveries_total',
    type: 'counter',
    help: '(event, subscriber, path) not counted as due because the subscriber had been refused for auth (expired or rejected token); reported as auth, never as dropped.',
    unit: 'count',
    labels: ['env', 'probe', 'path'],
  }),

  // ── Connection headroom ───────────────────────────────────────────────────────
  connectionLimit: metric({
    name: 'canary_connection_limit',
    type: 'gauge',
    help: 'Configured Realtime concurrent-connection limit of the environment plan.',
    unit: 'count',
    labels: ['env'],
  }),
  connectionsPeak: metric({
    name: 'canary_connections_peak',
    type: 'gauge',
    help: "Highest number of the probe's subscribers concurrently SUBSCRIBED since it started: a run's headroom verdict. Alerts take max_over_time of canary_subscribers_connected instead.",
    unit: 'count',
    labels: ['env', 'probe'],
  }),

  // ── Load scenarios ────────────────────────────────────────────────────────────
  loadTargetSubscribers: metric({
    name: 'canary_load_target_subscribers',
    type: 'gauge',
    help: 'Subscribers the running load scenario wants at this moment (the ramp).',
    unit: 'count',
    labels: ['env', 'scenario'],
  }),
  loadArrivalRate: metric({
    name: 'canary_load_arrival_rate',
    type: 'gauge',
    help: 'Waiver arrival rate (events per second) the running load scenario wants now.',
    unit: 'events_per_second',
    labels: ['env', 'scenario'],
  }),

  // ── Harness health ────────────────────────────────────────────────────────────
  harnessEventLoopLag: metric({
    name: 'canary_harness_event_loop_lag_seconds',
    type: 'gauge',
    help: 'p99 event-loop delay of the harness over the last sampling window.',
    unit: 'seconds',
    labels: [],
  }),
  harnessCpu: metric({
    name: 'canary_harness_cpu_ratio',
    type: 'gauge',
    help: 'Harness process CPU use over the last sampling window, as a fraction of one core.',
    unit: 'ratio',
    labels: [],
  }),
  harnessOverloaded: metric({
    name: 'canary_harness_overloaded',
    type: 'gauge',
    help: '1 while the harness is saturated (event-loop lag or CPU over threshold); its measurements are flagged.',
    unit: 'boolean',
    labels: [],
  }),
  buildInfo: metric({
    name: 'canary_build_info',
    type: 'gauge',
    help: 'Always 1; labels carry the harness version and Node.js version.',
    unit: 'info',
    labels: ['version', 'node_version'],
  }),
} as const;

export type Catalog = typeof catalog;
export type MetricKey = keyof Catalog;
export type LabelsOf<K extends MetricKey> = Catalog[K]['labels'][number];

/** Every metric spec, in declaration order. */
export const allMetrics: readonly MetricSpec[] = Object.values(catalog);
