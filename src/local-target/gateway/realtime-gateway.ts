/**
 * The Realtime gateway: accepts websocket upgrades on /realtime/v1/websocket the way Supabase does
 * (apikey check, connection and join limits, JSON refusal bodies), keeps the topic → channel index
 * for fan-out, applies the websocket-side faults, and serves the REST broadcast routes.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import WebSocket, { WebSocketServer } from 'ws';
import { API_KEY_REFUSALS, isBrowserUserAgent } from '../auth/api-key-gate.js';
import type { ChangeFeed, JwtClaims, RealtimeGateway, TargetContext } from '../components.js';
import type { FaultSettings } from '../faults/index.js';
import { encodeMessage, SERIALIZER_VERSIONS, type SerializerVersion } from './frame-codec.js';
import { sharedText, type SharedFrame } from './ordered-sender.js';
import { OutgoingBroadcast } from './outgoing-broadcast.js';
import { PresenceRegistry, type PresenceDiff } from './presence-registry.js';
import { RateWindow } from './rate-window.js';
import { registerBroadcastRoutes } from './broadcast-routes.js';
import { createMessageFeed, type MessageFeed } from '../replication/index.js';
import {
  SocketSession,
  TOPIC_PREFIX,
  topicKeyOf,
  type Channel,
  type GatewayServices,
  type GatewaySettings,
} from './socket-session.js';
import { describeTokenFailure } from './token-failure.js';

/** Supabase waits this long before refusing an upgrade (CONNECT_ERROR_BACKOFF_MS). */
export const SUPABASE_CONNECT_ERROR_BACKOFF_MS = 2000;
/** Supabase waits this long before a join error reply (CHANNEL_ERROR_BACKOFF_MS). */
export const SUPABASE_CHANNEL_ERROR_BACKOFF_MS = 5000;

export const REALTIME_WEBSOCKET_PATH = '/realtime/v1/websocket';

export interface RealtimeGatewayOptions {
  /**
   * Delay before an upgrade refusal is written. Supabase uses 2 000 ms; the target defaults to
   * 50 ms so tests stay fast. Set SUPABASE_CONNECT_ERROR_BACKOFF_MS to reproduce production.
   */
  refusalDelayMs?: number;
  /** Delay before a join error reply. Supabase uses 5 000 ms; the target defaults to 0. */
  joinErrorDelayMs?: number;
  /** Close sockets silent for this long (Phoenix's transport timeout, 60 s). */
  idleTimeoutMs?: number;
  /** How long a join waits for the change feed before replying anyway with a system error. */
  readyTimeoutMs?: number;
  /** The project setting "private channels only" (Supabase: Realtime settings); default false. */
  privateOnly?: boolean;
}

interface ResolvedOptions extends GatewaySettings {
  refusalDelayMs: number;
  idleTimeoutMs: number;
}

/** Frames above this are cut off by ws (close 1009); below it, oversize broadcasts get Supabase's error. */
function maxFrameBytes(ctx: TargetContext): number {
  return ctx.limits.maxBroadcastPayloadBytes + 64 * 1024;
}

export function createRealtimeGateway(
  ctx: TargetContext,
  feed: ChangeFeed,
  options: RealtimeGatewayOptions = {},
): RealtimeGateway {
  return new Gateway(ctx, feed, {
    refusalDelayMs: options.refusalDelayMs ?? 50,
    joinErrorDelayMs: options.joinErrorDelayMs ?? 0,
    idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
    readyTimeoutMs: options.readyTimeoutMs ?? 10_000,
    privateOnly: options.privateOnly ?? false,
  });
}

class Gateway implements RealtimeGateway, GatewayServices {
  readonly joinWindow: RateWindow;
  readonly messageWindow: RateWindow;
  readonly presence = new PresenceRegistry<Channel>();
  private readonly wss: WebSocketServer;
  private readonly sessions = new Set<SocketSession>();
  private readonly topics = new Map<string, Set<Channel>>();
  private readonly servers = new Map<
    http.Server,
    (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void
  >();
  /** Upgrades that passed auth and hold a connection slot until the handshake completes. */
  private reservedSlots = 0;
  private joinedChannels = 0;
  private disconnectTimer: NodeJS.Timeout | null = null;
  private readonly idleTimer: NodeJS.Timeout;
  private readonly stopWatchingFaults: () => void;
  private closing = false;
  private messageFeed: MessageFeed | null = null;

  constructor(
    readonly ctx: TargetContext,
    readonly feed: ChangeFeed,
    readonly settings: ResolvedOptions,
  ) {
    this.joinWindow = new RateWindow(ctx.clock);
    this.messageWindow = new RateWindow(ctx.clock);
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: maxFrameBytes(ctx),
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.wss.on('error', (error) =>
      ctx.logger.warn('realtime websocket server error', { error: error.message }),
    );
    this.idleTimer = setInterval(
      () => this.closeIdle(),
      Math.min(5000, Math.max(100, settings.idleTimeoutMs / 4)),
    );
    this.idleTimer.unref();
    this.armDisconnects(ctx.faults.current);
    this.stopWatchingFaults = ctx.faults.onChange((faults) => this.armDisconnects(faults));
  }

  // ---- websocket upgrade ---------------------------------------------------------------------

  attach(server: http.Server): void {
    if (this.servers.has(server)) return;
    const listener = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
      socket.on('error', () => socket.destroy());
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://target.invalid');
      } catch {
        this.refuseNow(socket, 400, 'Bad Request');
        return;
      }
      if (url.pathname !== REALTIME_WEBSOCKET_PATH) {
        // Leave other paths to other upgrade listeners, if any; otherwise say so.
        if (server.listenerCount('upgrade') === 1) this.refuseNow(socket, 404, 'Not Found');
        return;
      }
      this.upgrade(req, socket, head, url).catch((error: unknown) => {
        this.ctx.logger.warn('realtime upgrade failed', {
          error: error instanceof Error ? error.message : String(error),
        });
        this.refuseNow(socket, 500, 'Error connecting to Realtime');
      });
    };
    this.servers.set(server, listener);
    server.on('upgrade', listener);
  }

  private refuseNow(socket: Duplex, status: number, text: string): void {
    if (socket.destroyed) return;
    const body = JSON.stringify({ error: text });
    socket.end(
      `HTTP/1.1 ${status} ${statusText(status)}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  }

  private async refuse(socket: Duplex, status: number, text: string, reason: string): Promise<void> {
    this.ctx.metrics.refusals.inc({ stage: 'connect', reason });
    if (this.settings.refusalDelayMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, this.settings.refusalDelayMs));
    }
    this.refuseNow(socket, status, text);
  }

  private connectionCap(): number {
    return this.ctx.faults.current.connectionCap ?? this.ctx.limits.maxConcurrentConnections;
  }

  private async upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, url: URL): Promise<void> {
    const { ctx } = this;
    const vsnParam = url.searchParams.get('vsn') ?? '1.0.0';
    if (!SERIALIZER_VERSIONS.includes(vsnParam as SerializerVersion)) {
      ctx.metrics.protocolErrors.inc({ kind: 'vsn' });
      await this.refuse(
        socket,
        400,
        `Unsupported serializer version ${vsnParam.slice(0, 20)}; use 1.0.0 or 2.0.0`,
        'vsn',
      );
      return;
    }
    const vsn = vsnParam as SerializerVersion;
    const headerKey = req.headers['x-api-key'];
    const token =
      (Array.isArray(headerKey) ? headerKey[0] : headerKey) || url.searchParams.get('apikey') || null;
    let claims: JwtClaims;
    try {
      if (token === null) throw new Error('API key is missing');
      if (ctx.keys.apiKeyKind(token) === 'secret' && isBrowserUserAgent(req.headers['user-agent'])) {
        await this.refuse(socket, 401, API_KEY_REFUSALS.browser.message, API_KEY_REFUSALS.browser.reason);
        return;
      }
      claims = await ctx.keys.verify(token, 'realtime');
    } catch (error) {
      const failure = describeTokenFailure(error, token, ctx.clock.wallNow());
      await this.refuse(socket, 401, failure.text, failure.reason);
      return;
    }
    if (this.closing || socket.destroyed) {
      socket.destroy();
      return;
    }

    const cap = this.connectionCap();
    if (this.sessions.size + this.reservedSlots >= cap) {
      if (cap < ctx.limits.maxConcurrentConnections)
        ctx.faults.record('connection_refused_cap', 'connection');
      await this.refuse(socket, 429, 'Too many connected users', 'too_many_connections');
      return;
    }
    if (this.joinWindow.rate() > ctx.limits.maxJoinsPerSecond) {
      await this.refuse(socket, 429, 'Too many joins per second', 'too_many_joins');
      return;
    }
    this.reservedSlots += 1;
    let released = false;
    const release = (): void => {
      if (!released) this.reservedSlots -= 1;
      released = true;
    };
    socket.once('close', release);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      release();
      this.accept(ws, vsn, claims, token);
    });
  }

  private accept(ws: WebSocket, vsn: SerializerVersion, claims: JwtClaims, token: string): void {
    if (this.closing) {
      ws.close(1001, 'server shutting down');
      return;
    }
    const session = new SocketSession(ws, vsn, claims, token, this);
    this.sessions.add(session);
    this.ctx.metrics.connections.set(this.sessions.size);
  }

  // ---- GatewayServices -----------------------------------------------------------------------

  channelJoined(channel: Channel): void {
    let members = this.topics.get(channel.topicKey);
    if (!members) {
      members = new Set();
      this.topics.set(channel.topicKey, members);
    }
    members.add(channel);
    this.joinedChannels += 1;
    this.ctx.metrics.channels.set(this.joinedChannels);
  }

  channelClosed(channel: Channel): void {
    const members = this.topics.get(channel.topicKey);
    if (members?.delete(channel)) {
      if (members.size === 0) this.topics.delete(channel.topicKey);
      this.joinedChannels -= 1;
      this.ctx.metrics.channels.set(this.joinedChannels);
    }
  }

  sessionClosed(session: SocketSession): void {
    this.sessions.delete(session);
    this.ctx.metrics.connections.set(this.sessions.size);
  }

  fanOutBroadcast(topicKey: string, message: OutgoingBroadcast, sender: Channel | null): number {
    const members = this.topics.get(topicKey);
    if (!members) return 0;
    const { faults } = this.ctx;
    let queued = 0;
    for (const channel of members) {
      if (channel === sender && !channel.config.broadcastSelf) continue;
      if (channel.permissions !== null && !channel.permissions.read.broadcast) continue;
      const session = channel.session;
      if (!session.isOpen) continue;
      const frame = message.frameFor(session.vsn);
      if (frame === null) continue;
      const fault = faults.current.broadcast;
      if (faults.roll(fault.dropRate)) {
        faults.record('drop', 'broadcast');
        continue;
      }
      const delayMs = faults.sampleDelay(fault);
      if (delayMs > 0) faults.record('delay', 'broadcast');
      session.enqueue('broadcast', frame, delayMs);
      queued += 1;
    }
    return queued;
  }

  fanOutPresenceDiff(source: Channel, diff: PresenceDiff): void {
    const members = this.topics.get(source.topicKey);
    if (!members) return;
    const cache = new Map<SerializerVersion, SharedFrame>();
    for (const channel of members) {
      if (!channel.presenceEnabled || !channel.session.isOpen) continue;
      let frame = cache.get(channel.session.vsn);
      if (frame === undefined) {
        frame = sharedText(
          encodeMessage(channel.session.vsn, {
            joinRef: null,
            ref: null,
            topic: source.topic,
            event: 'presence_diff',
            payload: diff,
          }),
        );
        cache.set(channel.session.vsn, frame);
      }
      channel.session.write(frame, 'presence');
    }
  }

  // ---- faults and housekeeping ---------------------------------------------------------------

  private armDisconnects(faults: FaultSettings): void {
    if (this.disconnectTimer) clearInterval(this.disconnectTimer);
    this.disconnectTimer = null;
    const { everyMs, fraction, code } = faults.disconnects;
    if (everyMs <= 0 || this.closing) return;
    this.disconnectTimer = setInterval(() => {
      for (const session of [...this.sessions]) {
        if (!this.ctx.faults.roll(fraction)) continue;
        this.ctx.faults.record('disconnect', 'connection');
        session.close(code, 'injected disconnect');
      }
    }, everyMs);
    this.disconnectTimer.unref();
  }

  private closeIdle(): void {
    const cutoff = this.ctx.clock.now() - this.settings.idleTimeoutMs;
    for (const session of this.sessions) {
      if (session.lastSeenAt < cutoff) session.close(1000, 'idle timeout');
    }
  }

  // ---- public API ----------------------------------------------------------------------------

  async registerRoutes(app: FastifyInstance): Promise<void> {
    await registerBroadcastRoutes(app, this);
    // Broadcast from Database is an extra; the gateway works without it if its slot cannot start.
    const feed = createMessageFeed(this.ctx, (message) => {
      this.ctx.metrics.walChanges.inc({ table: 'realtime.messages', op: 'insert' });
      this.publish(message.topic, message.event, { json: message.payload }, message.isPrivate, {
        id: message.id,
      });
    });
    try {
      await feed.start();
      this.messageFeed = feed;
    } catch (error) {
      this.ctx.logger.warn(
        'Broadcast from Database is unavailable: the realtime.messages slot did not start',
        {
          error: error instanceof Error ? error.message : String(error),
        },
      );
    }
  }

  /** Broadcast from a trusted caller (REST, the app's waiver step) to `realtime:<channel>`. */
  publish(
    channel: string,
    event: string,
    body: { json: unknown } | { binary: Buffer },
    isPrivate: boolean,
    meta: Record<string, unknown> | null = null,
  ): number {
    // Database messages (they carry meta.id) reach vsn 2 sockets as kind-4 frames, like Supabase's.
    const asBinary = 'binary' in body || meta !== null;
    const outgoing = new OutgoingBroadcast(`${TOPIC_PREFIX}${channel}`, event, body, meta, asBinary);
    return this.fanOutBroadcast(topicKeyOf(channel, isPrivate), outgoing, null);
  }

  broadcast(channel: string, event: string, payload: unknown): number {
    return this.publish(channel, event, { json: payload }, false);
  }

  stats(): { connections: number; channels: number } {
    return { connections: this.sessions.size, channels: this.joinedChannels };
  }

  async close(): Promise<void> {
    this.closing = true;
    this.stopWatchingFaults();
    await this.messageFeed?.stop();
    if (this.disconnectTimer) clearInterval(this.disconnectTimer);
    clearInterval(this.idleTimer);
    for (const [server, listener] of this.servers) server.off('upgrade', listener);
    this.servers.clear();
    const closed = [...this.sessions].map(
      (session) =>
        new Promise<void>((resolve) => {
          if (session.socket.readyState === WebSocket.CLOSED) return resolve();
          const timer = setTimeout(() => {
            session.socket.terminate();
            resolve();
          }, 1000);
          session.socket.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          session.close(1001, 'server shutting down');
        }),
    );
    await Promise.all(closed);
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

function statusText(status: number): string {
  const texts: Record<number, string> = {
    400: 'Bad Request',
    401: 'Unauthorized',
    404: 'Not Found',
    429: 'Too Many Requests',
    500: 'Internal Server Error',
  };
  return texts[status] ?? 'Error';
}
