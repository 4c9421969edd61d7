/**
 * A lean Phoenix-protocol subscriber on raw `ws`, for running thousands of mechanics per process.
 * It follows realtime-js's channel rules (join/rejoin backoff, push timeout, heartbeat, outdated
 * join refs, binding echo check) and reports the same statuses, so its measurements can stand in
 * for supabase-js's. One socket carries both topics; socket events go to shared module-level
 * functions (no closures per subscriber or per message), and deliveries are key-scanned by
 * phoenix-frame.ts instead of JSON-parsed.
 *
 * One deliberate difference: when the server refuses the websocket upgrade (HTTP 401/429…),
 * realtime-js only sees a transport failure, because browsers hide the response. `ws` exposes it,
 * so the lean subscriber reports `HTTP <status>: <error text>` and a precise reason
 * (auth, connection_limit, rate_limit) where supabase-js can only say `transport`.
 *
 * One file on purpose: the socket, its channels and the shared module-level listeners are one state
 * machine (realtime-js's rules span all three), and splitting it would put closures or indirection
 * back on the per-message path this client exists to keep lean. Frame decoding is already apart
 * (phoenix-frame.ts).
 */
import type { IncomingMessage, ClientRequest } from 'node:http';
import WebSocket from 'ws';
import { CanaryError } from '../shared/index.js';
import {
  defaultTransport,
  phasesOf,
  socketStamps,
  type CreateConnection,
  type SocketStamps,
} from '../net/index.js';
import { mapErrorReason } from './error-reason.js';
import {
  broadcastKeysOf,
  changeKeysOf,
  echoedBindingId,
  encodeFrame,
  fanoutPayloadStart,
  parseBinaryBroadcast,
  parseTextFrame,
  scanBroadcastEvent,
  scanBroadcastKeys,
  scanChangeKeys,
  scanIdsInclude,
  type ExtractedKeys,
  type PhoenixMessage,
  type PhoenixVsn,
} from './phoenix-frame.js';
import { scrubSecrets } from './secret-scrub.js';
import {
  MAX_REPLAY_MESSAGES,
  DEFAULT_JOIN_TIMEOUT_MS,
  type DeliveryKeys,
  type RealtimePath,
  type Subscriber,
  type SubscriberConfig,
  type SubscriptionStatus,
} from './types.js';
import { assertUsableSubscriberConfig } from './subscriber-config.js';

export interface LeanSubscriberOptions {
  /** Serializer version; realtime-js defaults to 2.0.0 (arrays + binary broadcasts). */
  vsn?: PhoenixVsn;
  /** realtime-js sends a heartbeat every 25 s and gives up after one missed reply. */
  heartbeatIntervalMs?: number;
  /** Socket reconnect delays by attempt (last one repeats): realtime-js's 1, 2, 5, 10 s. */
  reconnectDelaysMs?: readonly number[];
  /** Channel rejoin delays after a join error, timeout or phx_error: Phoenix's 1, 2, 5, 10 s. */
  rejoinDelaysMs?: readonly number[];
}

const HEARTBEAT_INTERVAL_MS = 25_000;
const REALTIME_BACKOFF_MS: readonly number[] = [1_000, 2_000, 5_000, 10_000];
const REFUSAL_BODY_LIMIT = 2_048;
const REFUSAL_BODY_WAIT_MS = 3_000;
const STOP_WAIT_MS = 1_000;
const BINDING_MISMATCH = 'mismatch between server and client bindings for postgres changes';

type ChannelState = 'closed' | 'joining' | 'joined' | 'errored';

class LeanChannel {
  state: ChannelState = 'closed';
  joinRef: string | null = null;
  joinSent = false;
  /** Server id of our postgres_changes binding, from the join reply; 0 = none (matches nothing). */
  bindingId = 0;
  rejoinTries = 0;
  /** The last `system` error the server sent on this join: why a following phx_close happened. */
  systemError: string | undefined = undefined;
  joinTimer: NodeJS.Timeout | undefined = undefined;
  rejoinTimer: NodeJS.Timeout | undefined = undefined;
  /** db_broadcast: wall time the channel was lost; its rejoin asks for a replay from just before. */
  lostAtWall: number | undefined = undefined;
  /** performance.now() when the current join was sent, for the join phase timing. */
  joinSentAt = 0;

  constructor(
    readonly owner: LeanSubscriber,
    readonly path: RealtimePath,
    readonly topic: string,
  ) {}
}

interface OwnedSocket extends WebSocket {
  canaryOwner?: LeanSubscriber;
}

/** Reused for every delivery in the process: extraction is synchronous, so one scratch suffices. */
const scratch: ExtractedKeys = { eventId: undefined, assignmentId: undefined, commitTimestamp: undefined };

function objectOrUndefined(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
}

function pick(delays: readonly number[], attempt: number): number {
  return delays[Math.min(attempt, delays.length - 1)] ?? 10_000;
}

export class LeanSubscriber implements Subscriber {
  readonly kind = 'lean' as const;
  readonly id: string;
  private readonly config: SubscriberConfig;
  private readonly vsn: PhoenixVsn;
  private readonly heartbeatIntervalMs: number;
  private readonly reconnectDelaysMs: readonly number[];
  private readonly rejoinDelaysMs: readonly number[];
  private readonly joinTimeoutMs: number;
  private readonly endpoint: URL;
  /** From the project's transport: TCP for ws://, TLS with the one shared context for wss://. */
  private readonly createConnection: CreateConnection;
  /** The opening socket's TCP/TLS stamps, read at its upgrade and reported at open. */
  private openingStamps: SocketStamps | undefined = undefined;
  private readonly broadcastEventLower: string;
  private dbEventLower = '';
  private readonly channels: LeanChannel[] = [];
  private socket: OwnedSocket | null = null;
  private nextRef = 0;
  private pendingHeartbeatRef: string | null = null;
  private heartbeatTimer: NodeJS.Timeout | undefined = undefined;
  private reconnectTimer: NodeJS.Timeout | undefined = undefined;
  private reconnectTries = 0;
  /** Why the current socket is failing, when we know better than its close code. */
  private failure: string | undefined = undefined;
  private started = false;
  private stopped = false;
  private stopTokenUpdates: (() => void) | undefined = undefined;

  constructor(config: SubscriberConfig, options: LeanSubscriberOptions = {}) {
    assertUsableSubscriberConfig(config);
    this.id = config.id;
    this.config = config;
    this.vsn = options.vsn ?? '2.0.0';
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS;
    this.reconnectDelaysMs = options.reconnectDelaysMs ?? REALTIME_BACKOFF_MS;
    this.rejoinDelaysMs = options.rejoinDelaysMs ?? REALTIME_BACKOFF_MS;
    this.joinTimeoutMs = config.joinTimeoutMs ?? DEFAULT_JOIN_TIMEOUT_MS;
    this.endpoint = sharedEndpoint(config.supabaseUrl, config.anonKey, this.vsn);
    this.createConnection = (config.transport ?? defaultTransport()).createConnectionFor(this.endpoint);
    this.broadcastEventLower = config.broadcastEvent.toLowerCase();
    if (config.paths.includes('postgres_changes')) {
      this.channels.push(new LeanChannel(this, 'postgres_changes', `realtime:${config.changesChannel}`));
    }
    if (config.paths.includes('broadcast')) {
      this.channels.push(new LeanChannel(this, 'broadcast', `realtime:${config.broadcastChannel}`));
    }
    if (config.paths.includes('db_broadcast') && config.dbBroadcast) {
      this.dbEventLower = config.dbBroadcast.event.toLowerCase();
      this.channels.push(new LeanChannel(this, 'db_broadcast', `realtime:${config.dbBroadcast.topic}`));
    }
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    // One closure per subscriber, not per message: a renewed token goes to every joined channel.
    this.stopTokenUpdates = this.config.tokens.onRefresh((token) => this.pushToken(token));
    for (const channel of this.channels) this.join(channel);
    this.connect();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopTokenUpdates?.();
    clearTimeout(this.reconnectTimer);
    clearInterval(this.heartbeatTimer);
    for (const channel of this.channels) {
      clearTimeout(channel.joinTimer);
      clearTimeout(channel.rejoinTimer);
      if (channel.state === 'joined' || channel.state === 'joining') this.sendLeave(channel);
      channel.state = 'closed';
    }
    const socket = this.socket;
    this.socket = null;
    if (!socket) return;
    if (socket.readyState !== WebSocket.OPEN) {
      socket.terminate();
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        socket.terminate();
        resolve();
      }, STOP_WAIT_MS);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.close(1000, 'subscriber stopped');
    });
  }

  /** @internal The subscriber's monotonic clock, read first thing on every frame. */
  now(): number {
    return this.config.clock.now();
  }

  // ── socket ─────────────────────────────────────────────────────────────────────────────────

  private connect(): void {
    this.failure = undefined;
    let socket: OwnedSocket;
    try {
      socket = new WebSocket(this.endpoint, {
        perMessageDeflate: false,
        // Frames are decoded with toString('utf8'), which already copes with bad bytes.
        skipUTF8Validation: true,
        handshakeTimeout: 30_000,
        createConnection: this.createConnection,
      });
    } catch (error) {
      this.failure = `transport failure: ${this.scrub(error instanceof Error ? error.message : String(error))}`;
      this.socketLost();
      return;
    }
    socket.canaryOwner = this;
    socket.on('open', onSocketOpen);
    socket.on('message', onSocketMessage);
    socket.on('close', onSocketClose);
    socket.on('error', onSocketError);
    socket.on('unexpected-response', onUnexpectedResponse);
    if (this.config.handlers.onTiming) socket.once('upgrade', onSocketUpgrade);
    this.openingStamps = undefined;
    this.socket = socket;
  }

  /** @internal */
  handleOpen(socket: OwnedSocket): void {
    if (socket !== this.socket || this.stopped) return;
    this.reconnectTries = 0;
    this.pendingHeartbeatRef = null;
    this.heartbeatTimer = setInterval(heartbeatDue, this.heartbeatIntervalMs, this);
    const onTiming = this.config.handlers.onTiming;
    if (onTiming && this.openingStamps) {
      for (const timing of phasesOf(this.openingStamps, performance.now())) onTiming(timing);
    }
    this.openingStamps = undefined;
    for (const channel of this.channels) {
      channel.rejoinTries = 0;
      if (channel.state === 'joining' && !channel.joinSent) {
        this.sendJoin(channel);
      } else if (channel.state === 'errored') {
        clearTimeout(channel.rejoinTimer);
        this.join(channel);
      }
    }
  }

  /** @internal The 101 arrived: keep the socket's TCP/TLS stamps until the open reports them. */
  handleUpgrade(socket: OwnedSocket, response: IncomingMessage): void {
    if (socket === this.socket) this.openingStamps = socketStamps(response.socket);
  }

  /** @internal */
  handleClose(socket: OwnedSocket, code: number, reason: string): void {
    if (socket !== this.socket) return;
    this.socket = null;
    socket.canaryOwner = undefined;
    if (this.stopped) return;
    if (this.failure === undefined) {
      this.failure = reason ? `socket closed: ${code} (${reason})` : `socket closed: ${code}`;
    }
    this.socketLost();
  }

  /** @internal */
  handleError(socket: OwnedSocket, error: Error): void {
    if (socket !== this.socket || this.failure !== undefined) return;
    this.failure = `transport failure: ${this.scrub(error.message)}`;
  }

  /** @internal Upgrade refused: read the status and the `{"error": …}` body, then drop the socket. */
  handleRefusal(socket: OwnedSocket, request: ClientRequest, response: IncomingMessage): void {
    const status = response.statusCode ?? 0;
    const chunks: Buffer[] = [];
    let size = 0;
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (socket === this.socket)
        this.failure = this.refusalMessage(status, Buffer.concat(chunks).toString('utf8'));
      response.destroy();
      request.destroy();
      socket.terminate();
    };
    const timer = setTimeout(finish, REFUSAL_BODY_WAIT_MS);
    response.on('data', (chunk: Buffer) => {
      if (size >= REFUSAL_BODY_LIMIT) return;
      chunks.push(chunk);
      size += chunk.length;
    });
    response.on('end', finish);
    response.on('error', finish);
  }

  private refusalMessage(status: number, body: string): string {
    let detail = body.trim();
    try {
      const parsed = JSON.parse(detail) as unknown;
      if (parsed !== null && typeof parsed === 'object') {
        const fields = parsed as Record<string, unknown>;
        const text = fields.error ?? fields.message;
        if (typeof text === 'string') detail = text;
      }
    } catch {
      // Not JSON (older servers answer with an empty or plain body): keep the text as it is.
    }
    detail = this.scrub(detail.slice(0, 200));
    return detail ? `HTTP ${status}: ${detail}` : `HTTP ${status}`;
  }

  /** The socket is gone (closed, refused or never built): error the channels, then reconnect. */
  private socketLost(): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.pendingHeartbeatRef = null;
    const message = this.failure ?? 'socket closed';
    for (const channel of this.channels) {
      clearTimeout(channel.rejoinTimer);
      if (channel.state !== 'joined' && channel.state !== 'joining') continue;
      clearTimeout(channel.joinTimer);
      channel.joinSent = false;
      channel.state = 'errored';
      this.report(channel, 'CHANNEL_ERROR', message);
    }
    if (!this.channels.some((channel) => channel.state !== 'closed')) return; // nothing left to rejoin
    const delay = pick(this.reconnectDelaysMs, this.reconnectTries);
    this.reconnectTries += 1;
    this.reconnectTimer = setTimeout(reconnectDue, delay, this);
  }

  /**
   * Every channel is CLOSED for good (server phx_close, binding mismatch): drop the socket now.
   * realtime-js keeps an empty socket for 50 s; at thousands of subscribers that is memory for nothing.
   */
  private retireIfIdle(): void {
    if (this.channels.some((channel) => channel.state !== 'closed')) return;
    const socket = this.socket;
    if (!socket) return;
    this.socket = null;
    socket.canaryOwner = undefined;
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    socket.close(1000, 'no channels left');
  }

  /** @internal */
  reconnect(): void {
    this.reconnectTimer = undefined;
    if (!this.stopped && this.socket === null) this.connect();
  }

  /** @internal Phoenix: a heartbeat still unanswered when the next is due means the link is dead. */
  heartbeat(): void {
    const socket = this.socket;
    if (!socket || this.stopped) return;
    if (this.pendingHeartbeatRef !== null) {
      // The same text realtime-js reports, so both kinds label the failure alike.
      this.failure = 'heartbeat timeout';
      this.handleClose(socket, 1000, 'heartbeat timeout');
      socket.close(1000, 'heartbeat timeout');
      return;
    }
    this.pendingHeartbeatRef = this.makeRef();
    this.send(null, this.pendingHeartbeatRef, 'phoenix', 'heartbeat', {});
  }

  // ── channels ───────────────────────────────────────────────────────────────────────────────

  private join(channel: LeanChannel): void {
    channel.joinRef = this.makeRef();
    channel.state = 'joining';
    channel.joinSent = false;
    channel.bindingId = 0;
    channel.systemError = undefined;
    clearTimeout(channel.joinTimer);
    channel.joinTimer = setTimeout(joinTimedOut, this.joinTimeoutMs, channel);
    if (this.socket?.readyState === WebSocket.OPEN) this.sendJoin(channel);
  }

  private sendJoin(channel: LeanChannel): void {
    const { schema, table } = this.config;
    const postgresChanges = channel.path === 'postgres_changes' ? [{ event: 'INSERT', schema, table }] : [];
    const db = this.config.dbBroadcast;
    const isDb = channel.path === 'db_broadcast';
    const replay =
      isDb && db?.replay && channel.lostAtWall !== undefined
        ? { replay: { since: channel.lostAtWall - (db.replayMarginMs ?? 2_000), limit: MAX_REPLAY_MESSAGES } }
        : {};
    channel.joinSent = true;
    channel.joinSentAt = performance.now();
    this.send(channel.joinRef, channel.joinRef, channel.topic, 'phx_join', {
      config: {
        broadcast: { self: false, ack: false, ...replay },
        presence: { key: '', enabled: false },
        postgres_changes: postgresChanges,
        private: isDb,
      },
      access_token: this.config.tokens.current(),
    });
  }

  /**
   * realtime-js's setAuth(): every joined channel gets `access_token` with the new token (no reply
   * is sent); a channel still joining picks it up on its next join, which reads the current token.
   */
  private pushToken(token: string): void {
    if (this.stopped) return;
    for (const channel of this.channels) {
      if (channel.state === 'joined')
        this.send(channel.joinRef, this.makeRef(), channel.topic, 'access_token', { access_token: token });
    }
  }

  private sendLeave(channel: LeanChannel): void {
    this.send(channel.joinRef, this.makeRef(), channel.topic, 'phx_leave', {});
  }

  /** @internal */
  joinTimedOut(channel: LeanChannel): void {
    channel.joinTimer = undefined;
    if (channel.state !== 'joining' || this.stopped) return;
    this.sendLeave(channel);
    channel.state = 'errored';
    this.report(channel, 'TIMED_OUT', `join timed out after ${this.joinTimeoutMs} ms`);
    this.scheduleRejoin(channel);
  }

  private scheduleRejoin(channel: LeanChannel): void {
    if (this.socket?.readyState !== WebSocket.OPEN) return; // the next socket open rejoins
    clearTimeout(channel.rejoinTimer);
    channel.rejoinTimer = setTimeout(rejoinDue, pick(this.rejoinDelaysMs, channel.rejoinTries), channel);
    channel.rejoinTries += 1;
  }

  /** @internal */
  rejoin(channel: LeanChannel): void {
    channel.rejoinTimer = undefined;
    if (this.stopped || channel.state !== 'errored') return;
    if (this.socket?.readyState === WebSocket.OPEN) this.join(channel);
  }

  private onJoinReply(channel: LeanChannel, payload: unknown): void {
    clearTimeout(channel.joinTimer);
    channel.joinTimer = undefined;
    const reply = (payload ?? {}) as { status?: unknown; response?: unknown };
    if (reply.status !== 'ok') {
      channel.state = 'errored';
      const response = reply.response;
      const message =
        response !== null && typeof response === 'object'
          ? Object.values(response as Record<string, unknown>).join(', ')
          : String(response ?? '');
      this.report(channel, 'CHANNEL_ERROR', this.scrub(message || 'error'));
      this.scheduleRejoin(channel);
      return;
    }
    if (channel.path === 'postgres_changes') {
      const response = reply.response as { postgres_changes?: unknown } | undefined;
      const bindingId = echoedBindingId(response?.postgres_changes, this.config.schema, this.config.table);
      if (bindingId === null) {
        // realtime-js unsubscribes (CLOSED) and reports the mismatch; it does not rejoin.
        this.sendLeave(channel);
        channel.state = 'closed';
        this.report(channel, 'CLOSED');
        this.report(channel, 'CHANNEL_ERROR', BINDING_MISMATCH);
        this.retireIfIdle();
        return;
      }
      channel.bindingId = bindingId;
    }
    channel.state = 'joined';
    channel.rejoinTries = 0;
    this.config.handlers.onTiming?.({ phase: 'join', ms: performance.now() - channel.joinSentAt });
    this.report(channel, 'SUBSCRIBED');
  }

  private channelFor(topic: string): LeanChannel | undefined {
    const [first, second, third] = this.channels;
    if (first?.topic === topic) return first;
    if (second?.topic === topic) return second;
    return third?.topic === topic ? third : undefined;
  }

  // ── inbound ────────────────────────────────────────────────────────────────────────────────

  /** @internal `receivedAt` was taken before the frame was touched. */
  handleFrame(data: Buffer, isBinary: boolean, receivedAt: number): void {
    if (isBinary) {
      this.handleBinary(data, receivedAt);
      return;
    }
    const text = data.toString('utf8');
    if (this.vsn === '2.0.0') {
      for (const channel of this.channels) {
        if (channel.state !== 'joined' || channel.path === 'db_broadcast') continue;
        const event = channel.path === 'postgres_changes' ? 'postgres_changes' : 'broadcast';
        const start = fanoutPayloadStart(text, channel.topic, event);
        if (start < 0) continue;
        if (channel.path === 'postgres_changes') this.scannedChange(channel, text, start, receivedAt);
        else this.scannedBroadcast(channel, text, start, receivedAt);
        return;
      }
    }
    const message = parseTextFrame(text);
    if (message) this.route(message, receivedAt);
  }

  private handleBinary(data: Buffer, receivedAt: number): void {
    const frame = parseBinaryBroadcast(data);
    if (!frame || frame.encoding !== 1) return;
    const channel = this.channelFor(frame.topic);
    if (channel?.path === 'db_broadcast' && channel.state === 'joined') {
      if (frame.event.toLowerCase() !== this.dbEventLower) return;
      let meta: unknown;
      let payload: unknown;
      try {
        meta = JSON.parse(data.toString('utf8', frame.metadataOffset, frame.payloadOffset) || 'null');
        payload = JSON.parse(data.toString('utf8', frame.payloadOffset));
      } catch {
        return;
      }
      this.deliverDb(payload, meta, receivedAt);
      return;
    }
    if (!channel || channel.path !== 'broadcast' || channel.state !== 'joined') return;
    if (frame.event.toLowerCase() !== this.broadcastEventLower) return;
    const text = data.toString('utf8', frame.payloadOffset);
    if (text.includes('\\')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return;
      }
      broadcastKeysOf(parsed, scratch);
    } else {
      scanBroadcastKeys(text, 0, scratch);
    }
    this.deliver('broadcast', receivedAt);
  }

  private scannedChange(channel: LeanChannel, text: string, start: number, receivedAt: number): void {
    const matched = scanIdsInclude(text, start, channel.bindingId);
    if (matched === false) return;
    if (
      matched === undefined ||
      !text.includes('"type":"INSERT"', start) ||
      !scanChangeKeys(text, start, scratch)
    ) {
      const message = parseTextFrame(text);
      if (message) this.route(message, receivedAt);
      return;
    }
    this.deliver('postgres_changes', receivedAt);
  }

  private scannedBroadcast(channel: LeanChannel, text: string, start: number, receivedAt: number): void {
    const event = scanBroadcastEvent(text, start);
    if (event === undefined || event.toLowerCase() !== this.broadcastEventLower) return;
    scanBroadcastKeys(text, start, scratch);
    this.deliver('broadcast', receivedAt);
  }

  private route(message: PhoenixMessage, receivedAt: number): void {
    if (message.topic === 'phoenix') {
      if (message.ref !== null && message.ref === this.pendingHeartbeatRef) this.pendingHeartbeatRef = null;
      return;
    }
    const channel = this.channelFor(message.topic);
    if (!channel) return;
    // realtime-js drops anything stamped with an older join of this channel.
    if (message.joinRef !== null && message.joinRef !== channel.joinRef) return;
    switch (message.event) {
      case 'phx_reply':
        if (channel.state === 'joining' && message.ref === channel.joinRef)
          this.onJoinReply(channel, message.payload);
        return;
      case 'phx_error':
        if (message.ref !== channel.joinRef || (channel.state !== 'joined' && channel.state !== 'joining'))
          return;
        clearTimeout(channel.joinTimer);
        channel.state = 'errored';
        this.report(channel, 'CHANNEL_ERROR', 'channel error: transport failure');
        this.scheduleRejoin(channel);
        return;
      case 'phx_close':
        if (message.ref !== channel.joinRef || channel.state === 'closed') return;
        clearTimeout(channel.joinTimer);
        clearTimeout(channel.rejoinTimer);
        channel.state = 'closed';
        this.report(channel, 'CLOSED', channel.systemError);
        this.retireIfIdle();
        return;
      case 'system':
        this.noteSystemError(channel, message.payload);
        return;
      case 'postgres_changes':
        this.parsedChange(channel, message.payload, receivedAt);
        return;
      case 'broadcast':
        this.parsedBroadcast(channel, message.payload, receivedAt);
        return;
      default:
        // Presence and other messages do not change a subscription's status (wire protocol §3.4).
        return;
    }
  }

  /** A `system` error (token expired, policy refused…) does not change the status; the phx_close after it does. */
  private noteSystemError(channel: LeanChannel, payload: unknown): void {
    const body = payload as { status?: unknown; message?: unknown } | null;
    if (body?.status === 'error' && typeof body.message === 'string') {
      channel.systemError = this.scrub(body.message.slice(0, 300));
    }
  }

  private parsedChange(channel: LeanChannel, payload: unknown, receivedAt: number): void {
    if (channel.path !== 'postgres_changes' || channel.state !== 'joined') return;
    const body = payload as { ids?: unknown; data?: { type?: unknown } } | null;
    if (!Array.isArray(body?.ids) || !body.ids.some((id) => Number(id) === channel.bindingId)) return;
    if (body.data?.type !== 'INSERT' || !changeKeysOf(body, scratch)) return;
    this.deliver('postgres_changes', receivedAt);
  }

  private parsedBroadcast(channel: LeanChannel, payload: unknown, receivedAt: number): void {
    if (channel.state !== 'joined') return;
    if (channel.path === 'db_broadcast') {
      const message = payload as { event?: unknown; payload?: unknown; meta?: unknown } | null;
      if (typeof message?.event !== 'string' || message.event.toLowerCase() !== this.dbEventLower) return;
      this.deliverDb(message.payload, message.meta, receivedAt);
      return;
    }
    if (channel.path !== 'broadcast') return;
    const body = payload as { event?: unknown; payload?: unknown } | null;
    if (typeof body?.event !== 'string' || body.event.toLowerCase() !== this.broadcastEventLower) return;
    broadcastKeysOf(body.payload, scratch);
    this.deliver('broadcast', receivedAt);
  }

  /** A broadcast_changes message: keys from its record, `updated_at` as the commit time. */
  private deliverDb(payload: unknown, meta: unknown, receivedAt: number): void {
    if (this.stopped) return;
    const record = objectOrUndefined(objectOrUndefined(payload)?.record);
    const keys: DeliveryKeys = {};
    const assignmentId = record?.id;
    const eventId = objectOrUndefined(record?.metadata)?.canary_event_id;
    if (typeof eventId === 'string') keys.eventId = eventId;
    if (typeof assignmentId === 'string') keys.assignmentId = assignmentId;
    const commitTimestamp = record?.updated_at;
    const replayed = objectOrUndefined(meta)?.replayed === true;
    this.config.handlers.onDelivery({
      path: 'db_broadcast',
      keys,
      receivedAt,
      ...(typeof commitTimestamp === 'string' ? { commitTimestamp } : {}),
      ...(replayed ? { replayed } : {}),
    });
  }

  private deliver(path: RealtimePath, receivedAt: number): void {
    if (this.stopped) return;
    const keys: DeliveryKeys = {};
    if (scratch.eventId !== undefined) keys.eventId = scratch.eventId;
    if (scratch.assignmentId !== undefined) keys.assignmentId = scratch.assignmentId;
    const commitTimestamp = scratch.commitTimestamp;
    scratch.eventId = scratch.assignmentId = scratch.commitTimestamp = undefined;
    this.config.handlers.onDelivery(
      commitTimestamp === undefined
        ? { path, keys, receivedAt }
        : { path, keys, receivedAt, commitTimestamp },
    );
  }

  // ── outbound and reporting ─────────────────────────────────────────────────────────────────

  private send(
    joinRef: string | null,
    ref: string | null,
    topic: string,
    event: string,
    payload: unknown,
  ): void {
    const socket = this.socket;
    if (socket?.readyState !== WebSocket.OPEN) return;
    socket.send(encodeFrame(this.vsn, joinRef, ref, topic, event, payload));
  }

  private makeRef(): string {
    this.nextRef += 1;
    return String(this.nextRef);
  }

  private report(channel: LeanChannel, status: SubscriptionStatus, message?: string): void {
    if (this.stopped) return;
    if (channel.path === 'db_broadcast') {
      if (status === 'SUBSCRIBED') channel.lostAtWall = undefined;
      else channel.lostAtWall ??= this.config.clock.wallNow();
    }
    const at = this.config.clock.now();
    if (status === 'CHANNEL_ERROR') {
      const text = message ?? 'error';
      this.config.handlers.onStatus({
        status,
        at,
        channel: channel.path,
        reason: mapErrorReason(text),
        message: text,
      });
    } else if (status === 'TIMED_OUT') {
      this.config.handlers.onStatus({ status, at, channel: channel.path, reason: 'timeout', message });
    } else if (status === 'CLOSED' && message !== undefined) {
      this.config.handlers.onStatus({
        status,
        at,
        channel: channel.path,
        reason: mapErrorReason(message),
        message,
      });
    } else {
      this.config.handlers.onStatus({ status, at, channel: channel.path });
    }
  }

  private scrub(text: string): string {
    return scrubSecrets(text, [this.config.anonKey, this.config.tokens.current()]);
  }
}

// Socket listeners are shared by every subscriber; `this` is the socket, which knows its owner.
function onSocketOpen(this: OwnedSocket): void {
  this.canaryOwner?.handleOpen(this);
}

function onSocketUpgrade(this: OwnedSocket, response: IncomingMessage): void {
  this.canaryOwner?.handleUpgrade(this, response);
}

function onSocketMessage(this: OwnedSocket, data: WebSocket.RawData, isBinary: boolean): void {
  const owner = this.canaryOwner;
  if (!owner) return;
  const receivedAt = owner.now();
  owner.handleFrame(data as Buffer, isBinary, receivedAt);
}

function onSocketClose(this: OwnedSocket, code: number, reason: Buffer): void {
  this.canaryOwner?.handleClose(this, code, reason.toString('utf8'));
}

function onSocketError(this: OwnedSocket, error: Error): void {
  this.canaryOwner?.handleError(this, error);
}

function onUnexpectedResponse(this: OwnedSocket, request: ClientRequest, response: IncomingMessage): void {
  const owner = this.canaryOwner;
  if (owner) owner.handleRefusal(this, request, response);
  else this.terminate();
}

function heartbeatDue(subscriber: LeanSubscriber): void {
  subscriber.heartbeat();
}

function reconnectDue(subscriber: LeanSubscriber): void {
  subscriber.reconnect();
}

function joinTimedOut(channel: LeanChannel): void {
  channel.owner.joinTimedOut(channel);
}

function rejoinDue(channel: LeanChannel): void {
  channel.owner.rejoin(channel);
}

/** supabase-js's socket URL: `<url>/realtime/v1/websocket?apikey=<key>&vsn=<vsn>`, http → ws. */
export function realtimeEndpoint(supabaseUrl: string, anonKey: string, vsn: PhoenixVsn): string {
  let base: URL;
  try {
    base = new URL(supabaseUrl.endsWith('/') ? supabaseUrl : `${supabaseUrl}/`);
  } catch {
    throw new CanaryError('CONFIG_INVALID', `supabaseUrl "${supabaseUrl}" is not a URL`, {
      hint: 'use the project URL, e.g. https://<ref>.supabase.co or http://127.0.0.1:54321',
    });
  }
  const url = new URL('realtime/v1/websocket', base);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('apikey', anonKey);
  url.searchParams.set('vsn', vsn);
  return url.toString();
}

/**
 * Thousands of subscribers share a few endpoints. `ws` keeps `url.href` of the URL it is given, and
 * a URL object hands out its one stored string, so sharing the object keeps one copy in memory
 * (a string address would be re-parsed into a fresh ~300-byte string per socket). Never mutated.
 */
const endpoints = new Map<string, URL>();
const MAX_SHARED_ENDPOINTS = 32;

function sharedEndpoint(supabaseUrl: string, anonKey: string, vsn: PhoenixVsn): URL {
  const key = `${vsn} ${supabaseUrl} ${anonKey}`;
  let endpoint = endpoints.get(key);
  if (endpoint === undefined) {
    endpoint = new URL(realtimeEndpoint(supabaseUrl, anonKey, vsn));
    if (endpoints.size >= MAX_SHARED_ENDPOINTS) endpoints.clear();
    endpoints.set(key, endpoint);
  }
  return endpoint;
}

export function createLeanSubscriber(config: SubscriberConfig, options?: LeanSubscriberOptions): Subscriber {
  return new LeanSubscriber(config, options);
}
