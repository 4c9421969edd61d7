/**
 * A subscriber that is exactly what the mechanic dashboard runs: the real @supabase/supabase-js
 * client with the mechanic's token, a postgres_changes channel (INSERT on the assignments table)
 * and a broadcast channel (`new_assignment`). realtime-js reconnects and rejoins by itself; every
 * `subscribe()` callback it makes is reported as a status change.
 *
 * Receive time is taken by the transport: a `ws` subclass stamps the clock in its own `message`
 * listener, which runs before realtime-js's `onmessage` decodes the frame and (synchronously)
 * calls our channel callbacks. Latency therefore excludes realtime-js's parsing, just as the lean
 * subscriber's excludes its own, and the two kinds can be compared on the same events.
 */
import {
  createClient,
  type Session,
  type SupabaseClient,
  type WebSocketLikeConstructor,
} from '@supabase/supabase-js';
import type { RealtimeChannel } from '@supabase/supabase-js';
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import {
  defaultTransport,
  isTlsFailure,
  phasesOf,
  socketStamps,
  type PhaseTiming,
  type ProjectTransport,
} from '../net/index.js';
import { CanaryError, sleep, type Clock } from '../shared/index.js';
import { mapErrorReason } from './error-reason.js';
import { scrubSecrets } from './secret-scrub.js';
import {
  DEFAULT_JOIN_TIMEOUT_MS,
  type ClientSignIn,
  MAX_REPLAY_MESSAGES,
  type DbBroadcastConfig,
  type DeliveryKeys,
  type RealtimePath,
  type Subscriber,
  type SubscriberConfig,
  type SubscriptionStatus,
} from './types.js';
import { assertUsableSubscriberConfig } from './subscriber-config.js';

export interface SupabaseJsSubscriberOptions {
  /** Serializer version realtime-js asks for; its default is 2.0.0. */
  vsn?: '1.0.0' | '2.0.0';
  /** realtime-js's default is 25 s; tests of heartbeat loss shorten it. */
  heartbeatIntervalMs?: number;
}

interface ReceiveStamp {
  at: number;
  /**
   * Why the last socket failed, as `ws` saw it: realtime-js only reports "transport failure", so
   * the subscriber adds a TLS failure (an untrusted certificate) to its CHANNEL_ERROR message.
   */
  socketError: string | undefined;
}

/**
 * A `ws` WebSocket that records when each frame arrived, before anyone parses it, opens its
 * connection through the project's transport (shared TLS context, session resumption) and reports
 * the connection's tcp / tls / upgrade phases.
 */
function stampingTransport(
  clock: Clock,
  stamp: ReceiveStamp,
  transport: ProjectTransport,
  onTiming: ((timing: PhaseTiming) => void) | undefined,
): WebSocketLikeConstructor {
  class StampingWebSocket extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols, { createConnection: transport.createConnectionFor(address) });
      // Registered before realtime-js assigns onmessage, so it runs first for every frame.
      this.on('message', () => {
        stamp.at = clock.now();
      });
      this.on('error', (error: Error) => {
        stamp.socketError = error.message;
      });
      this.on('open', () => {
        stamp.socketError = undefined;
      });
      if (onTiming) {
        this.once('upgrade', (response: IncomingMessage) => {
          const stamps = socketStamps(response.socket);
          if (!stamps) return;
          this.once('open', () => {
            for (const timing of phasesOf(stamps, performance.now())) onTiming(timing);
          });
        });
      }
    }
  }
  // `ws` declares Node-style event types where realtime-js expects DOM ones; at runtime it is the
  // transport realtime-js documents for Node, so only the declarations disagree.
  return StampingWebSocket as unknown as WebSocketLikeConstructor;
}

function stringOrUndefined(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

function objectOrUndefined(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
}

class SupabaseJsSubscriber implements Subscriber {
  readonly kind = 'supabase-js' as const;
  readonly id: string;
  private readonly config: SubscriberConfig;
  private readonly options: SupabaseJsSubscriberOptions;
  private readonly stamp: ReceiveStamp = { at: 0, socketError: undefined };
  private client: SupabaseClient | null = null;
  private stopped = false;
  private stopTokenUpdates: (() => void) | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private readonly systemErrors = new Map<RealtimePath, string>();
  private dbChannel: RealtimeChannel | null = null;
  /** Wall time the db_broadcast channel was lost; the next rejoin replays from just before it. */
  private dbLostAtWall: number | undefined;

  constructor(config: SubscriberConfig, options: SupabaseJsSubscriberOptions) {
    assertUsableSubscriberConfig(config);
    this.id = config.id;
    this.config = config;
    this.options = options;
  }

  start(): void {
    if (this.client || this.stopped) return;
    const { config } = this;
    const transport = config.transport ?? defaultTransport();
    let client: SupabaseClient;
    try {
      client = createClient(config.supabaseUrl, config.anonKey, {
        realtime: {
          transport: stampingTransport(config.clock, this.stamp, transport, config.handlers.onTiming),
          timeout: config.joinTimeoutMs ?? DEFAULT_JOIN_TIMEOUT_MS,
          ...(this.options.vsn ? { vsn: this.options.vsn } : {}),
          ...(this.options.heartbeatIntervalMs
            ? { heartbeatIntervalMs: this.options.heartbeatIntervalMs }
            : {}),
        },
        // auth-js's own ticker looks every 30 s, too coarse for short-lived tokens: the canary
        // times the refresh, and auth-js performs it on the client's own session.
        auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
        // Auth and PostgREST calls go over the same trust and TLS context as the socket.
        global: {
          fetch: transport.fetch,
          ...(config.signIn ? {} : { headers: { Authorization: `Bearer ${config.tokens.current()}` } }),
        },
      });
    } catch (error) {
      throw new CanaryError(
        'CONFIG_INVALID',
        `cannot create the supabase-js client: ${this.describe(error)}`,
        {
          hint: 'check supabaseUrl (a http(s) URL) and anonKey in the environment config',
        },
      );
    }
    this.client = client;
    if (config.signIn) {
      // SIGNED_IN and TOKEN_REFRESHED make supabase-js call realtime.setAuth() with the session's token.
      void this.signInThenSubscribe(client, config.signIn);
      return;
    }
    // A manual token: joins carry it as access_token from the first join on, and each renewal is
    // pushed to the joined channels, as an app calling setAuth() would.
    void client.realtime.setAuth(config.tokens.current());
    this.stopTokenUpdates = config.tokens.onRefresh((token) => {
      if (!this.stopped) void client.realtime.setAuth(token);
    });
    this.subscribe(client);
  }

  private subscribe(client: SupabaseClient): void {
    const { config } = this;
    if (config.paths.includes('postgres_changes')) {
      client
        .channel(config.changesChannel)
        .on(
          'postgres_changes',
          { event: 'INSERT', schema: config.schema, table: config.table },
          (payload: { commit_timestamp?: unknown; new?: unknown }) => this.onChange(payload),
        )
        .on('system', {}, (payload: unknown) => this.onSystem('postgres_changes', payload))
        .subscribe((status, error) => this.onStatus('postgres_changes', status, error));
    }
    if (config.paths.includes('broadcast')) {
      client
        .channel(config.broadcastChannel)
        .on('broadcast', { event: config.broadcastEvent }, (message: { payload?: unknown }) =>
          this.onBroadcast(message),
        )
        .on('system', {}, (payload: unknown) => this.onSystem('broadcast', payload))
        .subscribe((status, error) => this.onStatus('broadcast', status, error));
    }
    const db = config.dbBroadcast;
    if (config.paths.includes('db_broadcast') && db) {
      const channel = client.channel(db.topic, { config: { private: true } });
      this.dbChannel = channel;
      channel
        .on('broadcast', { event: db.event }, (message: { payload?: unknown; meta?: unknown }) =>
          this.onDbBroadcast(message),
        )
        .on('system', {}, (payload: unknown) => this.onSystem('db_broadcast', payload))
        .subscribe((status, error) => {
          this.noteDbStatus(db, status);
          this.onStatus('db_broadcast', status, error);
        });
    }
  }

  /**
   * Replay on rejoin: realtime-js rejoins with the join payload it holds, so once the channel is
   * lost the payload is updated to ask for the messages since just before the loss; once it is
   * SUBSCRIBED again the next rejoin asks afresh.
   */
  private noteDbStatus(db: DbBroadcastConfig, status: `${SubscriptionStatus}`): void {
    const channel = this.dbChannel;
    if (!db.replay || !channel) return;
    if (status === 'SUBSCRIBED') {
      this.dbLostAtWall = undefined;
      channel.updateJoinPayload({ config: this.dbJoinConfig(undefined) });
      return;
    }
    this.dbLostAtWall ??= this.config.clock.wallNow();
    channel.updateJoinPayload({
      config: this.dbJoinConfig(this.dbLostAtWall - (db.replayMarginMs ?? 2_000)),
    });
  }

  private dbJoinConfig(since: number | undefined): Record<string, unknown> {
    return {
      broadcast: {
        ack: false,
        self: false,
        ...(since === undefined ? {} : { replay: { since, limit: MAX_REPLAY_MESSAGES } }),
      },
      presence: { key: '', enabled: false },
      postgres_changes: [],
      private: true,
    };
  }

  /** Signs in (retrying with backoff), subscribes, then keeps the session fresh until stopped. */
  private async signInThenSubscribe(client: SupabaseClient, signIn: ClientSignIn): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      const started = this.config.clock.now();
      const { data, error } = await client.auth
        .signInWithPassword({ email: signIn.email, password: signIn.password })
        .catch((thrown: unknown) => ({ data: { session: null }, error: thrown as Error }));
      const durationMs = this.config.clock.now() - started;
      if (this.stopped) return;
      if (!error && data.session) {
        signIn.onAuthEvent?.({ type: 'sign_in', ok: true, durationMs });
        this.subscribe(client);
        this.scheduleRefresh(client, signIn, data.session, 0);
        return;
      }
      failures += 1;
      const message = this.describe(error ?? new Error('no session returned'));
      signIn.onAuthEvent?.({ type: 'sign_in', ok: false, durationMs, message });
      for (const path of this.config.paths) {
        this.config.handlers.onStatus({
          status: 'CHANNEL_ERROR',
          at: this.config.clock.now(),
          channel: path,
          reason: 'auth',
          message: `sign-in failed: ${message}`,
        });
      }
      await sleep(signIn.retryDelayMs(failures));
    }
  }

  private scheduleRefresh(
    client: SupabaseClient,
    signIn: ClientSignIn,
    session: Session,
    failures: number,
  ): void {
    if (this.stopped) return;
    const expiresAtMs = (session.expires_at ?? 0) * 1000;
    const lifetimeMs = (session.expires_in ?? 3600) * 1000;
    const delay =
      failures === 0 ? signIn.refreshDelayMs(expiresAtMs, lifetimeMs) : signIn.retryDelayMs(failures);
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => void this.refresh(client, signIn, session, failures), delay);
    this.refreshTimer.unref();
  }

  private async refresh(
    client: SupabaseClient,
    signIn: ClientSignIn,
    previous: Session,
    failures: number,
  ): Promise<void> {
    if (this.stopped) return;
    const started = this.config.clock.now();
    const { data, error } = await client.auth
      .refreshSession()
      .catch((thrown: unknown) => ({ data: { session: null }, error: thrown as Error }));
    if (this.stopped) return;
    const durationMs = this.config.clock.now() - started;
    if (!error && data.session) {
      signIn.onAuthEvent?.({ type: 'refresh', ok: true, durationMs });
      this.scheduleRefresh(client, signIn, data.session, 0);
      return;
    }
    const message = this.describe(error ?? new Error('no session returned'));
    signIn.onAuthEvent?.({ type: 'refresh', ok: false, durationMs, message });
    if (/refresh token/i.test(message) && !/fetch|network/i.test(message)) {
      // A used or revoked refresh token does not recover: sign in again on the same client.
      const again = await client.auth
        .signInWithPassword({ email: signIn.email, password: signIn.password })
        .catch((thrown: unknown) => ({ data: { session: null }, error: thrown as Error }));
      if (!again.error && again.data.session) {
        signIn.onAuthEvent?.({ type: 'sign_in', ok: true, durationMs: this.config.clock.now() - started });
        this.scheduleRefresh(client, signIn, again.data.session, 0);
        return;
      }
    }
    this.scheduleRefresh(client, signIn, previous, failures + 1);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.refreshTimer);
    this.stopTokenUpdates?.();
    const client = this.client;
    this.client = null;
    if (!client) return;
    await client.removeAllChannels();
    await client.realtime.disconnect();
  }

  /** A `system` error (expired token, refused policy…) explains the phx_close that follows it. */
  private onSystem(channel: RealtimePath, payload: unknown): void {
    const body = payload as { status?: unknown; message?: unknown } | null;
    if (body?.status === 'error' && typeof body.message === 'string') {
      this.systemErrors.set(channel, this.describe(body.message.slice(0, 300)));
    }
  }

  private onChange(payload: { commit_timestamp?: unknown; new?: unknown }): void {
    if (this.stopped) return;
    const receivedAt = this.stamp.at;
    const row = objectOrUndefined(payload.new);
    const keys: DeliveryKeys = {};
    const assignmentId = stringOrUndefined(row?.id);
    const eventId = stringOrUndefined(objectOrUndefined(row?.metadata)?.canary_event_id);
    if (eventId !== undefined) keys.eventId = eventId;
    if (assignmentId !== undefined) keys.assignmentId = assignmentId;
    const commitTimestamp = stringOrUndefined(payload.commit_timestamp);
    this.config.handlers.onDelivery(
      commitTimestamp === undefined
        ? { path: 'postgres_changes', keys, receivedAt }
        : { path: 'postgres_changes', keys, receivedAt, commitTimestamp },
    );
  }

  private onBroadcast(message: { payload?: unknown }): void {
    if (this.stopped) return;
    const receivedAt = this.stamp.at;
    const body = objectOrUndefined(message.payload);
    const keys: DeliveryKeys = {};
    const assignmentId = stringOrUndefined(body?.assignmentId);
    const eventId = stringOrUndefined(objectOrUndefined(body?.metadata)?.canary_event_id);
    if (eventId !== undefined) keys.eventId = eventId;
    if (assignmentId !== undefined) keys.assignmentId = assignmentId;
    this.config.handlers.onDelivery({ path: 'broadcast', keys, receivedAt });
  }

  private onDbBroadcast(message: { payload?: unknown; meta?: unknown }): void {
    if (this.stopped) return;
    const receivedAt = this.stamp.at;
    const body = objectOrUndefined(message.payload);
    const row = objectOrUndefined(body?.record);
    const keys: DeliveryKeys = {};
    const assignmentId = stringOrUndefined(row?.id);
    const eventId = stringOrUndefined(objectOrUndefined(row?.metadata)?.canary_event_id);
    if (eventId !== undefined) keys.eventId = eventId;
    if (assignmentId !== undefined) keys.assignmentId = assignmentId;
    const commitTimestamp = stringOrUndefined(row?.updated_at);
    const replayed = objectOrUndefined(message.meta)?.replayed === true;
    this.config.handlers.onDelivery({
      path: 'db_broadcast',
      keys,
      receivedAt,
      ...(commitTimestamp === undefined ? {} : { commitTimestamp }),
      ...(replayed ? { replayed } : {}),
    });
  }

  private onStatus(channel: RealtimePath, status: `${SubscriptionStatus}`, error: Error | undefined): void {
    if (this.stopped) return;
    const at = this.config.clock.now();
    if (status === 'CHANNEL_ERROR') {
      const described = error ? this.describe(error) : 'channel error';
      const socketError = this.stamp.socketError;
      // Only a TLS failure is added: it is the canary's own trust setup, not the project's answer.
      // A refused upgrade (401/429) stays the bare transport failure a browser's realtime-js sees.
      const message =
        socketError && isTlsFailure(socketError) && /transport failure/i.test(described)
          ? `${described} (${this.describe(socketError)})`
          : described;
      this.config.handlers.onStatus({ status, at, channel, reason: mapErrorReason(message), message });
    } else if (status === 'TIMED_OUT') {
      this.config.handlers.onStatus({ status, at, channel, reason: 'timeout' });
    } else if (status === 'CLOSED' && this.systemErrors.has(channel)) {
      const message = this.systemErrors.get(channel)!;
      this.systemErrors.delete(channel);
      this.config.handlers.onStatus({ status, at, channel, reason: mapErrorReason(message), message });
    } else {
      if (status === 'SUBSCRIBED') this.systemErrors.delete(channel);
      this.config.handlers.onStatus({ status, at, channel });
    }
  }

  private describe(error: unknown): string {
    const text = error instanceof Error ? error.message : String(error);
    const secrets = [this.config.anonKey, this.config.tokens.current()];
    if (this.config.signIn) secrets.push(this.config.signIn.password);
    return scrubSecrets(text, secrets);
  }
}

export function createSupabaseJsSubscriber(
  config: SubscriberConfig,
  options: SupabaseJsSubscriberOptions = {},
): Subscriber {
  return new SupabaseJsSubscriber(config, options);
}
