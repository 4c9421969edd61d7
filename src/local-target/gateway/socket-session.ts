/**
 * One websocket connection: decodes its frames, runs the Phoenix channel protocol for each topic it
 * joins (join, leave, broadcast, presence, access_token) with Supabase's replies and errors, and
 * writes to the socket through one ordered sender per delivery path so injected delays never
 * reorder a path's messages.
 *
 * One file on purpose: Phoenix's channel rules (join refs, replies, the token's expiry timer, the
 * close that follows a system error) act on one socket's state together, and the pieces that stand
 * alone already live beside it (frame codec, join config, ordered sender, presence, rate windows,
 * token failures, private-channel authorization).
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import type {
  ChangeFeed,
  ChangeSubscriptionHandle,
  JwtClaims,
  PostgresChangeData,
  TargetContext,
} from '../components.js';
import type { TargetPath } from '../target-metrics.js';
import { decodeFrame, encodeMessage, FrameError } from './frame-codec.js';
import type { BinaryBroadcastPush, PhoenixMessage, SerializerVersion } from './frame-codec.js';
import {
  checkChannelPermissions,
  PRIVATE_ONLY_REASON,
  readReplay,
  unauthorizedReadReason,
  type ChannelPermissions,
} from './channel-authorization.js';
import { parseJoinPayload, type JoinConfig } from './join-config.js';
import { OrderedSender, type OutboundFrame } from './ordered-sender.js';
import { OutgoingBroadcast } from './outgoing-broadcast.js';
import type { PresenceDiff, PresenceRegistry } from './presence-registry.js';
import type { RateWindow } from './rate-window.js';
import { describeTokenFailure, expiredText, systemTextFor } from './token-failure.js';

export const TOPIC_PREFIX = 'realtime:';

/** The real server re-checks a channel token at least this often. */
const TOKEN_RECHECK_MS = 5 * 60_000;

export interface GatewaySettings {
  /** Delay before a join error reply (Supabase: 5 000 ms). */
  joinErrorDelayMs: number;
  /** How long a join waits for the change feed to report the subscription live. */
  readyTimeoutMs: number;
  /** The project setting "private channels only": public joins are refused. */
  privateOnly: boolean;
}

/** Supabase's join error when replaying a private channel's messages fails. */
export const UNABLE_TO_REPLAY_REASON = 'UnableToReplayMessages: Realtime was unable to replay messages';

export interface Channel {
  readonly session: SocketSession;
  readonly topic: string;
  readonly subTopic: string;
  /** Fan-out key: private and public channels of one name are separate, like Supabase. */
  readonly topicKey: string;
  readonly joinRef: string;
  readonly config: JoinConfig;
  readonly presenceKey: string;
  presenceEnabled: boolean;
  claims: JwtClaims;
  token: string;
  /** A private channel's permissions from the realtime.messages policies; null for public channels. */
  permissions: ChannelPermissions | null;
  state: 'joining' | 'joined' | 'closed';
  feedHandle: ChangeSubscriptionHandle | null;
  expiryTimer: NodeJS.Timeout | null;
  gapTimer: NodeJS.Timeout | null;
}

/** What a session needs from the gateway that owns it. */
export interface GatewayServices {
  readonly ctx: TargetContext;
  readonly feed: ChangeFeed;
  readonly settings: GatewaySettings;
  readonly joinWindow: RateWindow;
  readonly messageWindow: RateWindow;
  readonly presence: PresenceRegistry<Channel>;
  channelJoined(channel: Channel): void;
  channelClosed(channel: Channel): void;
  fanOutBroadcast(topicKey: string, message: OutgoingBroadcast, sender: Channel | null): number;
  fanOutPresenceDiff(channel: Channel, diff: PresenceDiff): void;
  sessionClosed(session: SocketSession): void;
}

export function topicKeyOf(subTopic: string, isPrivate: boolean): string {
  return `${isPrivate ? 'private' : 'public'}:${subTopic}`;
}

function asRecord(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

/** Serialised `data` objects, shared by every subscriber the feed hands the same change to. */
const encodedChangeData = new WeakMap<PostgresChangeData, string>();

function changeDataJson(data: PostgresChangeData): string {
  let json = encodedChangeData.get(data);
  if (json === undefined) {
    json = JSON.stringify(data);
    encodedChangeData.set(data, json);
  }
  return json;
}

export class SocketSession {
  readonly channels = new Map<string, Channel>();
  /** Join ref of the newest phx_join per topic: an older join still verifying its token is dropped. */
  private readonly latestJoinRef = new Map<string, string>();
  /** Joins past the limit checks and still verifying a token; they count against the channel cap. */
  private pendingJoins = 0;
  lastSeenAt: number;
  private closed = false;
  private readonly senders: Record<'broadcast' | 'postgres_changes', OrderedSender>;

  constructor(
    readonly socket: WebSocket,
    readonly vsn: SerializerVersion,
    /** Claims of the socket's apikey token; a join without its own token is authorised with these. */
    readonly claims: JwtClaims,
    readonly token: string,
    private readonly services: GatewayServices,
  ) {
    const { ctx } = services;
    this.lastSeenAt = ctx.clock.now();
    this.senders = {
      broadcast: new OrderedSender(ctx.clock, (frame) => this.write(frame, 'broadcast')),
      postgres_changes: new OrderedSender(ctx.clock, (frame) => this.write(frame, 'postgres_changes')),
    };
    socket.on('message', (data, isBinary) => this.receive(data, isBinary));
    socket.on('close', () => this.teardown());
    // ws reports oversize frames and protocol violations here, then closes the socket.
    socket.on('error', (error) => {
      ctx.metrics.protocolErrors.inc({ kind: 'transport' });
      ctx.logger.debug('realtime socket error', { error: error.message });
    });
  }

  get isOpen(): boolean {
    return !this.closed && this.socket.readyState === WebSocket.OPEN;
  }

  /** Write now; counted as a delivery when the path is given. */
  write(frame: OutboundFrame, path?: TargetPath): void {
    if (!this.isOpen) return;
    if (typeof frame === 'string') this.socket.send(frame);
    else this.socket.send(frame.bytes, { binary: frame.binary });
    if (path) this.services.ctx.metrics.deliveries.inc({ path });
  }

  send(message: PhoenixMessage, path?: TargetPath): void {
    if (!this.isOpen) return;
    this.write(encodeMessage(this.vsn, message), path);
  }

  /** Queue a fan-out frame on a faulted path (delay already sampled). */
  enqueue(path: 'broadcast' | 'postgres_changes', frame: OutboundFrame, delayMs: number): void {
    if (!this.isOpen) return;
    this.senders[path].send(frame, delayMs);
  }

  /** Close the websocket; codes a close frame cannot carry (1005, 1006, 1015) drop the TCP stream. */
  close(code: number, reason = ''): void {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    const sendable = (code >= 1000 && code <= 1014 && ![1004, 1005, 1006].includes(code)) || code >= 3000;
    if (sendable) this.socket.close(code, reason);
    else this.socket.terminate();
  }

  // ---- inbound -------------------------------------------------------------------------------

  private receive(data: WebSocket.RawData, isBinary: boolean): void {
    this.lastSeenAt = this.services.ctx.clock.now();
    const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    let frame;
    try {
      frame = decodeFrame(buffer, isBinary, this.vsn);
    } catch (error) {
      const kind = error instanceof FrameError ? error.kind : 'decode';
      this.services.ctx.metrics.protocolErrors.inc({ kind: `frame_${kind}` });
      // Phoenix's transport crashes on an undecodable frame and the connection ends; we close cleanly.
      this.close(1007, 'invalid frame');
      return;
    }
    try {
      if (frame.kind === 'broadcast_push') this.onBinaryBroadcast(frame.push, frame.byteLength);
      else this.dispatch(frame.message, buffer.length);
    } catch (error) {
      this.services.ctx.metrics.protocolErrors.inc({ kind: 'handler' });
      this.services.ctx.logger.warn('realtime frame handler failed', {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  private reply(message: PhoenixMessage, status: 'ok' | 'error', response: unknown): void {
    if (message.ref === null) return;
    this.send({
      joinRef: message.joinRef,
      ref: message.ref,
      topic: message.topic,
      event: 'phx_reply',
      payload: { status, response },
    });
  }

  private dispatch(message: PhoenixMessage, byteLength: number): void {
    if (message.topic === 'phoenix') {
      if (message.event === 'heartbeat') this.reply(message, 'ok', {});
      else this.unmatched(message);
      return;
    }
    if (message.event === 'phx_join') {
      void this.join(message).catch((error: unknown) => {
        this.services.ctx.logger.warn('realtime join failed', {
          topic: message.topic,
          error: error instanceof Error ? error.message : String(error),
        });
      });
      return;
    }
    const channel = this.channels.get(message.topic);
    if (!channel || channel.state === 'closed') {
      this.unmatched(message);
      return;
    }
    switch (message.event) {
      case 'phx_leave':
        this.reply(message, 'ok', {});
        this.closeChannel(channel);
        return;
      case 'broadcast':
        this.onJsonBroadcast(channel, message, byteLength);
        return;
      case 'presence':
        this.onPresence(channel, message);
        return;
      case 'access_token':
        void this.onAccessToken(channel, message);
        return;
      default:
        this.services.ctx.metrics.protocolErrors.inc({ kind: 'unknown_event' });
        this.reply(message, 'error', { reason: `unknown event: ${message.event.slice(0, 100)}` });
    }
  }

  private unmatched(message: PhoenixMessage): void {
    this.services.ctx.metrics.protocolErrors.inc({ kind: 'unmatched_topic' });
    this.reply(message, 'error', { reason: 'unmatched topic' });
  }

  // ---- join ----------------------------------------------------------------------------------

  private async joinError(message: PhoenixMessage, reason: string, refusal: string): Promise<void> {
    const { ctx, settings } = this.services;
    ctx.metrics.refusals.inc({ stage: 'join', reason: refusal });
    if (this.latestJoinRef.get(message.topic) === message.joinRef) this.latestJoinRef.delete(message.topic);
    if (settings.joinErrorDelayMs > 0) await new Promise((r) => setTimeout(r, settings.joinErrorDelayMs));
    this.reply(message, 'error', { reason });
  }

  private async join(message: PhoenixMessage): Promise<void> {
    const { ctx } = this.services;
    const limits = ctx.limits;
    const joinRef = message.ref ?? message.joinRef;
    if (joinRef === null) {
      ctx.metrics.protocolErrors.inc({ kind: 'join_without_ref' });
      return;
    }
    const joinMessage = { ...message, joinRef };
    if (!message.topic.startsWith(TOPIC_PREFIX)) {
      this.unmatched(message);
      return;
    }
    const subTopic = message.topic.slice(TOPIC_PREFIX.length);
    if (subTopic === '') {
      ctx.metrics.protocolErrors.inc({ kind: 'topic_name_required' });
      await this.joinError(joinMessage, 'TopicNameRequired: You must provide a topic name', 'topic_required');
      return;
    }

    this.latestJoinRef.set(message.topic, joinRef);
    // A second join for a topic this socket already has replaces the old channel.
    const existing = this.channels.get(message.topic);
    if (existing) this.closeChannel(existing);

    if (this.services.joinWindow.hit() > limits.maxJoinsPerSecond) {
      await this.joinError(
        joinMessage,
        'ClientJoinRateLimitReached: Too many joins per second',
        'too_many_joins',
      );
      this.close(1000, 'Too many joins per second');
      return;
    }
    if (this.channels.size + this.pendingJoins >= limits.maxChannelsPerConnection) {
      await this.joinError(joinMessage, 'ChannelRateLimitReached: Too many channels', 'too_many_channels');
      return;
    }

    const config = parseJoinPayload(message.payload);
    let claims = this.claims;
    let token = this.token;
    if (config.accessToken !== null) {
      this.pendingJoins += 1;
      try {
        claims = await ctx.keys.verify(config.accessToken, 'realtime');
        token = config.accessToken;
      } catch (error) {
        const failure = describeTokenFailure(error, config.accessToken, ctx.clock.wallNow());
        ctx.metrics.protocolErrors.inc({ kind: 'join_token' });
        await this.joinError(joinMessage, failure.joinReason, failure.reason);
        return;
      } finally {
        this.pendingJoins -= 1;
      }
    }
    // Phoenix handles a socket's frames in order, so a newer join of this topic supersedes this one:
    // the client only listens to its newest join ref anyway.
    if (!this.isOpen || this.latestJoinRef.get(message.topic) !== joinRef) return;
    if (!config.isPrivate && this.services.settings.privateOnly) {
      await this.joinError(joinMessage, PRIVATE_ONLY_REASON, 'private_only');
      return;
    }
    let permissions: ChannelPermissions | null = null;
    let replayed: { id: string; event: string; payload: unknown }[] = [];
    if (config.isPrivate) {
      // Realtime Authorization: the caller's realtime.messages policies, evaluated in Postgres.
      try {
        permissions = await checkChannelPermissions(ctx.db.adminPool, claims, subTopic);
      } catch (error) {
        ctx.logger.warn('realtime authorization check failed', {
          topic: subTopic,
          error: error instanceof Error ? error.message : String(error),
        });
        permissions = null;
      }
      if (!permissions || (!permissions.read.broadcast && !permissions.read.presence)) {
        await this.joinError(joinMessage, unauthorizedReadReason(subTopic), 'unauthorized');
        return;
      }
      if (config.replay !== null && permissions.read.broadcast) {
        try {
          if (ctx.faults.current.replayUnavailable) {
            ctx.faults.record('replay_unavailable', 'broadcast');
            throw new Error('replay unavailable (fault)');
          }
          replayed = await readReplay(ctx.db.adminPool, claims, subTopic, config.replay);
        } catch (error) {
          ctx.logger.debug('broadcast replay failed', {
            topic: subTopic,
            error: error instanceof Error ? error.message : String(error),
          });
          await this.joinError(joinMessage, UNABLE_TO_REPLAY_REASON, 'replay_failed');
          return;
        }
      }
    }
    if (!this.isOpen || this.latestJoinRef.get(message.topic) !== joinRef) return;
    // A join without a token may have completed while this one was verifying; this one is newer.
    const raced = this.channels.get(message.topic);
    if (raced) this.closeChannel(raced);

    const channel: Channel = {
      session: this,
      topic: message.topic,
      subTopic,
      topicKey: topicKeyOf(subTopic, config.isPrivate),
      joinRef,
      config,
      presenceKey: config.presenceKey,
      presenceEnabled: config.presenceEnabled,
      claims,
      token,
      permissions,
      state: 'joining',
      feedHandle: null,
      expiryTimer: null,
      gapTimer: null,
    };
    this.channels.set(channel.topic, channel);

    const completeJoin = (): void => {
      if (channel.state !== 'joining' || !this.isOpen) return;
      channel.state = 'joined';
      this.services.channelJoined(channel);
      this.reply(joinMessage, 'ok', { postgres_changes: config.requestedBindings });
      // Replayed messages follow the join reply, oldest first, marked `meta.replayed`.
      for (const message of replayed) {
        const outgoing = new OutgoingBroadcast(
          channel.topic,
          message.event,
          { json: message.payload },
          { replayed: true, id: message.id },
          true,
        );
        const frame = outgoing.frameFor(this.vsn);
        if (frame !== null) this.write(frame, 'broadcast');
      }
      if (channel.presenceEnabled) {
        this.send(
          {
            joinRef,
            ref: null,
            topic: channel.topic,
            event: 'presence_state',
            payload: this.services.presence.state(channel.topicKey),
          },
          'presence',
        );
      }
      this.armExpiry(channel);
    };

    if (config.invalidBindings.length > 0) {
      // Sent after the join reply, like the real server's subscription error.
      queueMicrotask(() =>
        this.system(
          channel,
          'postgres_changes',
          'error',
          `Unable to subscribe to changes with given parameters. Please check Realtime is enabled for the given connect parameters: ${config.invalidBindings.join(', ')}`,
        ),
      );
    }
    if (config.bindings.length === 0) {
      completeJoin();
      return;
    }

    const gapMs = ctx.faults.current.readinessGapMs;
    if (gapMs > 0) {
      // Production's race: SUBSCRIBED before the subscription exists. Changes in the gap are lost.
      ctx.faults.record('readiness_gap_lost', 'postgres_changes');
      completeJoin();
      channel.gapTimer = setTimeout(() => {
        channel.gapTimer = null;
        if (channel.state === 'joined') this.subscribeChanges(channel, () => {});
      }, gapMs);
      return;
    }
    this.subscribeChanges(channel, completeJoin);
  }

  /** Register the channel's bindings with the change feed; `live` runs once it is ready or failed. */
  private subscribeChanges(channel: Channel, live: () => void): void {
    const { feed, settings } = this.services;
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(readyTimer);
      live();
    };
    const readyTimer = setTimeout(() => {
      if (settled) return;
      settle();
      this.system(channel, 'system', 'error', 'Replication connection was not established in time');
    }, settings.readyTimeoutMs);
    readyTimer.unref();
    try {
      channel.feedHandle = feed.subscribe({
        bindings: channel.config.bindings,
        claims: channel.claims,
        onReady: () => {
          if (channel.state === 'closed') return;
          settle();
          this.system(channel, 'postgres_changes', 'ok', 'Subscribed to PostgreSQL');
        },
        onChange: (data, ids) => this.deliverChange(channel, data, ids),
        onError: (text) => {
          if (channel.state === 'closed') return;
          settle();
          this.system(channel, 'postgres_changes', 'error', text);
        },
      });
    } catch (error) {
      settle();
      this.system(
        channel,
        'postgres_changes',
        'error',
        error instanceof Error ? error.message : 'Unable to subscribe to changes',
      );
    }
    if (channel.state === 'closed') {
      channel.feedHandle?.close();
      channel.feedHandle = null;
    }
  }

  private deliverChange(channel: Channel, data: PostgresChangeData, ids: number[]): void {
    if (channel.state !== 'joined' || !this.isOpen) return;
    const { faults } = this.services.ctx;
    const fault = faults.current.postgresChanges;
    if (faults.roll(fault.dropRate)) {
      faults.record('drop', 'postgres_changes');
      return;
    }
    const delayMs = faults.sampleDelay(fault);
    if (delayMs > 0) faults.record('delay', 'postgres_changes');
    const payload = `{"ids":${JSON.stringify(ids)},"data":${changeDataJson(data)}}`;
    const topic = JSON.stringify(channel.topic);
    const frame =
      this.vsn === '2.0.0'
        ? `[null,null,${topic},"postgres_changes",${payload}]`
        : `{"topic":${topic},"event":"postgres_changes","payload":${payload},"ref":null,"join_ref":null}`;
    this.enqueue('postgres_changes', frame, delayMs);
  }

  // ---- channel lifetime ----------------------------------------------------------------------

  system(channel: Channel, extension: string, status: 'ok' | 'error', text: string): void {
    if (channel.state === 'closed') return;
    this.send({
      joinRef: channel.joinRef,
      ref: null,
      topic: channel.topic,
      event: 'system',
      payload: { extension, status, message: text, channel: channel.subTopic },
    });
  }

  /** End a channel from the server side: optional `system` error, then `phx_close`. */
  shutdownChannel(channel: Channel, why: string | null): void {
    if (channel.state === 'closed') return;
    if (why !== null) this.system(channel, 'system', 'error', why);
    this.closeChannel(channel);
  }

  /** Forget a channel (leave, replacement, shutdown, socket loss). */
  closeChannel(channel: Channel, notify = true): void {
    if (channel.state === 'closed') return;
    const wasJoined = channel.state === 'joined';
    if (notify && wasJoined && this.isOpen && this.channels.get(channel.topic) === channel) {
      this.send({
        joinRef: channel.joinRef,
        ref: channel.joinRef,
        topic: channel.topic,
        event: 'phx_close',
        payload: {},
      });
    }
    channel.state = 'closed';
    if (this.channels.get(channel.topic) === channel) this.channels.delete(channel.topic);
    if (this.latestJoinRef.get(channel.topic) === channel.joinRef) this.latestJoinRef.delete(channel.topic);
    if (channel.expiryTimer) clearTimeout(channel.expiryTimer);
    if (channel.gapTimer) clearTimeout(channel.gapTimer);
    channel.feedHandle?.close();
    channel.feedHandle = null;
    const diff = this.services.presence.untrack(channel.topicKey, channel);
    if (diff) this.services.fanOutPresenceDiff(channel, diff);
    if (wasJoined) this.services.channelClosed(channel);
  }

  private armExpiry(channel: Channel): void {
    if (channel.expiryTimer) clearTimeout(channel.expiryTimer);
    channel.expiryTimer = null;
    const msLeft = channel.claims.exp * 1000 - this.services.ctx.clock.wallNow();
    if (!Number.isFinite(msLeft)) return;
    channel.expiryTimer = setTimeout(
      () => {
        channel.expiryTimer = null;
        if (channel.state !== 'joined') return;
        const now = this.services.ctx.clock.wallNow();
        if (now >= channel.claims.exp * 1000) {
          this.shutdownChannel(channel, expiredText(channel.claims.exp, now));
        } else {
          this.armExpiry(channel);
        }
      },
      Math.max(0, Math.min(msLeft, TOKEN_RECHECK_MS)),
    );
    channel.expiryTimer.unref();
  }

  private async onAccessToken(channel: Channel, message: PhoenixMessage): Promise<void> {
    const payload = asRecord(message.payload);
    const token = payload?.access_token;
    if (typeof token !== 'string' || token === '' || token.startsWith('sb_') || token === channel.token)
      return;
    const { ctx } = this.services;
    try {
      const claims = await ctx.keys.verify(token, 'realtime');
      if (channel.state !== 'joined') return;
      channel.claims = claims;
      channel.token = token;
      channel.feedHandle?.updateClaims(claims);
      this.armExpiry(channel);
    } catch (error) {
      if (channel.state !== 'joined') return;
      const failure = describeTokenFailure(error, token, ctx.clock.wallNow());
      ctx.metrics.protocolErrors.inc({ kind: 'access_token' });
      ctx.metrics.refusals.inc({ stage: 'access_token', reason: failure.reason });
      this.shutdownChannel(channel, systemTextFor(failure, token, ctx.clock.wallNow()));
    }
  }

  // ---- broadcast and presence ----------------------------------------------------------------

  /** Tenant messages/s limit: over it, the channel is shut down like Supabase does. */
  private overMessageRate(channel: Channel): boolean {
    if (this.services.messageWindow.hit() <= this.services.ctx.limits.maxMessagesPerSecond) return false;
    this.services.ctx.metrics.refusals.inc({ stage: 'message', reason: 'too_many_messages' });
    this.shutdownChannel(channel, 'Too many messages per second');
    return true;
  }

  private acceptBroadcast(channel: Channel, ref: string | null, byteLength: number): boolean {
    const { ctx } = this.services;
    if (byteLength > ctx.limits.maxBroadcastPayloadBytes) {
      ctx.metrics.protocolErrors.inc({ kind: 'payload_size_exceeded' });
      if (channel.config.broadcastAck && ref !== null) {
        this.send({
          joinRef: channel.joinRef,
          ref,
          topic: channel.topic,
          event: 'phx_reply',
          payload: { status: 'error', response: 'payload_size_exceeded' },
        });
      }
      return false;
    }
    return !this.overMessageRate(channel);
  }

  /** A private channel's sends need an INSERT policy on realtime.messages; Supabase drops the rest. */
  private mayWrite(channel: Channel, extension: 'broadcast' | 'presence'): boolean {
    if (channel.permissions === null || channel.permissions.write[extension]) return true;
    this.services.ctx.metrics.refusals.inc({ stage: 'message', reason: 'unauthorized_write' });
    return false;
  }

  private ackBroadcast(channel: Channel, ref: string | null): void {
    if (!channel.config.broadcastAck || ref === null) return;
    this.send({
      joinRef: channel.joinRef,
      ref,
      topic: channel.topic,
      event: 'phx_reply',
      payload: { status: 'ok', response: {} },
    });
  }

  private onJsonBroadcast(channel: Channel, message: PhoenixMessage, byteLength: number): void {
    const payload = asRecord(message.payload);
    if (!payload || typeof payload.event !== 'string') {
      this.services.ctx.metrics.protocolErrors.inc({ kind: 'broadcast_shape' });
      this.reply(message, 'error', { reason: 'broadcast payload needs an event' });
      return;
    }
    if (channel.state !== 'joined' || !this.acceptBroadcast(channel, message.ref, byteLength)) return;
    if (!this.mayWrite(channel, 'broadcast')) return;
    const meta = asRecord(payload.meta);
    const outgoing = new OutgoingBroadcast(
      channel.topic,
      payload.event,
      { json: payload.payload ?? null },
      meta,
      false,
    );
    this.services.fanOutBroadcast(channel.topicKey, outgoing, channel);
    this.ackBroadcast(channel, message.ref);
  }

  private onBinaryBroadcast(push: BinaryBroadcastPush, byteLength: number): void {
    const channel = this.channels.get(push.topic);
    if (!channel || channel.state === 'closed') {
      this.unmatched({
        joinRef: push.joinRef,
        ref: push.ref,
        topic: push.topic,
        event: 'broadcast',
        payload: {},
      });
      return;
    }
    if (channel.state !== 'joined' || !this.acceptBroadcast(channel, push.ref, byteLength)) return;
    if (!this.mayWrite(channel, 'broadcast')) return;
    // Metadata (e.g. 2.119's `persist`) is accepted and dropped: this target keeps no history.
    const outgoing = new OutgoingBroadcast(channel.topic, push.userEvent, push.body, null, true);
    this.services.fanOutBroadcast(channel.topicKey, outgoing, channel);
    this.ackBroadcast(channel, push.ref);
  }

  private onPresence(channel: Channel, message: PhoenixMessage): void {
    const payload = asRecord(message.payload);
    const event = payload?.event;
    if (event !== 'track' && event !== 'untrack') {
      this.services.ctx.metrics.protocolErrors.inc({ kind: 'presence_event' });
      this.reply(message, 'error', { reason: 'Presence event must be track or untrack' });
      return;
    }
    if (channel.state !== 'joined' || this.overMessageRate(channel)) return;
    if (event === 'untrack') {
      const diff = this.services.presence.untrack(channel.topicKey, channel);
      if (diff) this.services.fanOutPresenceDiff(channel, diff);
      this.reply(message, 'ok', {});
      return;
    }
    if (!this.mayWrite(channel, 'presence')) {
      this.reply(message, 'error', { reason: 'Unauthorized: You do not have permissions to track presence' });
      return;
    }
    const meta = asRecord(payload?.payload);
    if (!meta) {
      this.services.ctx.metrics.protocolErrors.inc({ kind: 'presence_payload' });
      this.reply(message, 'error', { reason: 'Presence track payload must be a map' });
      return;
    }
    channel.presenceEnabled = true;
    const key = channel.presenceKey !== '' ? channel.presenceKey : channel.session.presenceKeyFor(channel);
    const diff = this.services.presence.track(channel.topicKey, channel, key, meta);
    this.reply(message, 'ok', {});
    if (diff) this.services.fanOutPresenceDiff(channel, diff);
  }

  private readonly generatedPresenceKeys = new WeakMap<Channel, string>();

  /** Server-generated presence key for a channel that joined with an empty key. */
  presenceKeyFor(channel: Channel): string {
    let key = this.generatedPresenceKeys.get(channel);
    if (key === undefined) {
      key = randomUUID();
      this.generatedPresenceKeys.set(channel, key);
    }
    return key;
  }

  // ---- teardown ------------------------------------------------------------------------------

  private teardown(): void {
    if (this.closed) return;
    this.closed = true;
    this.senders.broadcast.clear();
    this.senders.postgres_changes.clear();
    for (const channel of [...this.channels.values()]) this.closeChannel(channel, false);
    this.services.sessionClosed(this);
  }
}
