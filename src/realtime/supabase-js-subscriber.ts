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
import { createClient, type SupabaseClient, type WebSocketLikeConstructor } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { CanaryError, type Clock } from '../shared/index.js';
import { mapErrorReason } from './error-reason.js';
import { scrubSecrets } from './secret-scrub.js';
import {
  DEFAULT_JOIN_TIMEOUT_MS,
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
}

/** A `ws` WebSocket that records when each frame arrived, before anyone parses it. */
function stampingTransport(clock: Clock, stamp: ReceiveStamp): WebSocketLikeConstructor {
  class StampingWebSocket extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols);
      // Registered before realtime-js assigns onmessage, so it runs first for every frame.
      this.on('message', () => {
        stamp.at = clock.now();
      });
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
  private readonly stamp: ReceiveStamp = { at: 0 };
  private client: SupabaseClient | null = null;
  private stopped = false;

  constructor(config: SubscriberConfig, options: SupabaseJsSubscriberOptions) {
    assertUsableSubscriberConfig(config);
    this.id = config.id;
    this.config = config;
    this.options = options;
  }

  start(): void {
    if (this.client || this.stopped) return;
    const { config } = this;
    let client: SupabaseClient;
    try {
      client = createClient(config.supabaseUrl, config.anonKey, {
        realtime: {
          transport: stampingTransport(config.clock, this.stamp),
          timeout: config.joinTimeoutMs ?? DEFAULT_JOIN_TIMEOUT_MS,
          ...(this.options.vsn ? { vsn: this.options.vsn } : {}),
          ...(this.options.heartbeatIntervalMs
            ? { heartbeatIntervalMs: this.options.heartbeatIntervalMs }
            : {}),
        },
        auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
        global: { headers: { Authorization: `Bearer ${config.accessToken}` } },
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
    // A manual token: joins carry it as access_token from the first join on.
    void client.realtime.setAuth(config.accessToken);

    if (config.paths.includes('postgres_changes')) {
      client
        .channel(config.changesChannel)
        .on(
          'postgres_changes',
          { event: 'INSERT', schema: config.schema, table: config.table },
          (payload: { commit_timestamp?: unknown; new?: unknown }) => this.onChange(payload),
        )
        .subscribe((status, error) => this.onStatus('postgres_changes', status, error));
    }
    if (config.paths.includes('broadcast')) {
      client
        .channel(config.broadcastChannel)
        .on('broadcast', { event: config.broadcastEvent }, (message: { payload?: unknown }) =>
          this.onBroadcast(message),
        )
        .subscribe((status, error) => this.onStatus('broadcast', status, error));
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const client = this.client;
    this.client = null;
    if (!client) return;
    await client.removeAllChannels();
    await client.realtime.disconnect();
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

  private onStatus(channel: RealtimePath, status: `${SubscriptionStatus}`, error: Error | undefined): void {
    if (this.stopped) return;
    const at = this.config.clock.now();
    if (status === 'CHANNEL_ERROR') {
      const message = error ? this.describe(error) : 'channel error';
      this.config.handlers.onStatus({ status, at, channel, reason: mapErrorReason(message), message });
    } else if (status === 'TIMED_OUT') {
      this.config.handlers.onStatus({ status, at, channel, reason: 'timeout' });
    } else {
      this.config.handlers.onStatus({ status, at, channel });
    }
  }

  private describe(error: unknown): string {
    const text = error instanceof Error ? error.message : String(error);
    return scrubSecrets(text, [this.config.anonKey, this.config.accessToken]);
  }
}

export function createSupabaseJsSubscriber(
  config: SubscriberConfig,
  options: SupabaseJsSubscriberOptions = {},
): Subscriber {
  return new SupabaseJsSubscriber(config, options);
}
