/**
 * The probe runner: one probe in one environment. It keeps synthetic mechanics subscribed (both
 * client kinds) and polling, publishes tagged synthetic waivers, feeds every status change and
 * delivery into the event ledger, and turns subscription health into the catalogue metrics.
 * Load executors drive it through setSubscribers() and publishOne(); the scheduler through
 * runRound().
 *
 * One file, though long: it is the shell around the ledger where a subscriber's lifecycle
 * (join, status transitions, gaps, readiness trains, removal), its poller and the metrics those
 * transitions move meet; each method is short and they all share the running-subscriber table.
 * The decisions live in the ledger (event-ledger.ts) and the publisher (event-publisher.ts).
 */
import { randomUUID } from 'node:crypto';
import type { MechanicTokenStatus } from '../auth/index.js';
import type { ProbeSpec } from '../config/index.js';
import {
  deliveredRatio,
  emptyCounts,
  type CanaryMetrics,
  type ClientKind,
  type DeliveryPath,
  type OutcomeCounts,
  type SubscriptionStatus,
} from '../metrics/index.js';
import {
  createLeanSubscriber,
  createSupabaseJsSubscriber,
  mapAuthReason,
  type Delivery,
  type RealtimePath,
  type StatusChange,
  type Subscriber,
  type SubscriberFactory,
} from '../realtime/index.js';
import { percentile, silentLogger, sleep, systemClock, type Clock, type Logger } from '../shared/index.js';
import { EventLedger, type OutcomeRecord } from './event-ledger.js';
import type { PhaseTiming } from '../net/index.js';
import { PollingWatcher } from './polling-watcher.js';
import {
  countFailedSteps,
  defaultPublisherFactory,
  type EventPublisher,
  type PublisherFactory,
} from './event-publisher.js';
import type { MechanicIdentity, ResolvedEnvironment } from './resolved-environment.js';

export interface ProbeRunnerOptions {
  env: ResolvedEnvironment;
  probe: ProbeSpec;
  metrics: CanaryMetrics;
  clock?: Clock;
  logger?: Logger;
  subscriberFactories?: Partial<Record<ClientKind, SubscriberFactory>>;
  isOverloaded?: () => boolean;
  /** How events are published; defaults to the realtime area's publisher for this environment. */
  publisher?: EventPublisher | PublisherFactory;
  /** How often pending events are checked against their deadline. */
  tickMs?: number;
}

export interface RoundResult {
  eventIds: string[];
  /** Every event published and every due (subscriber, path) delivered or late — nothing dropped. */
  success: boolean;
  publishErrors: number;
  durationMs: number;
  /** Outcome counts over the round's events, per path. */
  outcomes: Partial<Record<DeliveryPath, OutcomeCounts>>;
}

export type SubscriberState = SubscriptionStatus | 'JOINING';

export interface ProbeStatus {
  env: string;
  probe: string;
  roundsCompleted: number;
  lastRoundAt: string | null;
  lastRoundSuccess: boolean | null;
  eventsPublished: number;
  publishErrors: number;
  pendingEvents: number;
  unmatchedDeliveries: number;
  subscribers: { client: ClientKind; desired: number; byStatus: Partial<Record<SubscriberState, number>> }[];
  paths: ProbePathStatus[];
  /** The environment's synthetic mechanics and the state of their access tokens. */
  mechanics: MechanicTokenStatus[];
  /** Newest first. */
  recentEvents: {
    id: string;
    publishedAt: string;
    latencyMs: Partial<Record<DeliveryPath, number | 'dropped'>>;
  }[];
}

export interface ProbePathStatus extends OutcomeCounts {
  path: DeliveryPath;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
  due: number;
  duplicates: number;
  outOfOrder: number;
  gapMissed: number;
  gapCoveredByPolling: number;
  /** Events first seen in a Broadcast Replay after a rejoin (recovered, not lost in the gap). */
  replayRecovered: number;
  untrusted: number;
  zombies: number;
  readinessMissedEvents: number;
  deliveredRatio: number | null;
}

interface RunningSubscriber {
  id: string;
  kind: ClientKind;
  mechanic: MechanicIdentity;
  subscriber: Subscriber;
  startedAt: number;
  channels: Map<
    RealtimePath,
    { status: SubscriberState; everSubscribed: boolean; lostAt: number | undefined }
  >;
  /** A server-closed subscription is replaced after a backoff (realtime-js never rejoins a CLOSED channel). */
  resubscribeTimer: NodeJS.Timeout | undefined;
  resubscribeAttempts: number;
  /** When a channel first went CLOSED while another was still healthy. */
  partlyClosedSince: number | undefined;
}

/** Delays before replacing a subscriber whose channels the server closed: 1, 2, 5, 10, 30 s… */
const RESUBSCRIBE_DELAYS_MS = [1_000, 2_000, 5_000, 10_000, 30_000] as const;
/** A subscriber with one channel closed and one healthy is replaced after this long anyway. */
const PARTLY_CLOSED_LIMIT_MS = 60_000;

const READINESS_SPACING_MS = 250;
const READINESS_WINDOW_MS = 2000;
const READINESS_MAX_EVENTS = 12;
const RECENT_EVENTS = 50;

export class ProbeRunner {
  readonly env: ResolvedEnvironment;
  readonly probe: ProbeSpec;
  readonly ledger: EventLedger;
  private readonly metrics: CanaryMetrics;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly factories: Record<ClientKind, SubscriberFactory>;
  private readonly publisherOption: EventPublisher | PublisherFactory | undefined;
  private publisher: EventPublisher | undefined;
  private readonly tickMs: number;

  private readonly subscribers = new Map<string, RunningSubscriber>();
  private readonly desired: Record<ClientKind, number> = { lean: 0, 'supabase-js': 0 };
  private readonly pollers = new Map<string, PollingWatcher>();
  private readonly published: { eventId: string; assignmentId?: string; publishedAt: number }[] = [];
  private readonly inFlightPublishes = new Set<Promise<unknown>>();
  private nextSubscriber = 0;
  private tickTimer: NodeJS.Timeout | undefined;
  private cleanupTimer: NodeJS.Timeout | undefined;
  private started = false;
  private stopping: Promise<void> | undefined;
  private readinessUntil = 0;
  private readinessTrain: Promise<void> | undefined;
  private peakConnected = 0;
  private authReported = false;
  private roundsCompleted = 0;
  private lastRoundAt: string | null = null;
  private lastRoundSuccess: boolean | null = null;
  private eventsPublished = 0;
  private publishErrorCount = 0;

  constructor(options: ProbeRunnerOptions) {
    this.env = options.env;
    // A probe may run other paths in some environments (e.g. db_broadcast beside postgres_changes).
    const envPaths = options.probe.pathsByEnv?.[options.env.name];
    this.probe = envPaths ? { ...options.probe, paths: envPaths } : options.probe;
    this.metrics = options.metrics;
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? silentLogger).child({
      env: options.env.name,
      probe: options.probe.name,
    });
    this.factories = {
      lean: options.subscriberFactories?.lean ?? ((config) => createLeanSubscriber(config)),
      'supabase-js':
        options.subscriberFactories?.['supabase-js'] ?? ((config) => createSupabaseJsSubscriber(config)),
    };
    this.publisherOption = options.publisher;
    this.tickMs = options.tickMs ?? 100;
    this.ledger = new EventLedger({
      env: options.env.name,
      probe: options.probe.name,
      lateAfterMs: options.probe.lateAfter,
      deadlineMs: options.probe.deadline,
      zombieAfterMissed: options.probe.zombieAfterMissed,
      clock: this.clock,
      metrics: options.metrics,
      isOverloaded: options.isOverloaded,
    });
  }

  private get labels(): { env: string; probe: string } {
    return { env: this.env.name, probe: this.probe.name };
  }

  private get realtimePaths(): RealtimePath[] {
    return this.probe.paths.filter((p): p is RealtimePath => p !== 'polling');
  }

  /** Connect probe.subscribers, start the pollers and the deadline clock. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.metrics.connectionLimit.set({ env: this.env.name }, this.env.connectionLimit);
    this.publisher = await this.createPublisher();
    this.tickTimer = setInterval(() => this.ledger.tick(), this.tickMs);
    this.tickTimer.unref?.();
    this.startCleanup();
    const counts = this.probe.subscribers;
    await this.setSubscribers(counts.lean, 'lean');
    await this.setSubscribers(counts['supabase-js'], 'supabase-js');
    this.syncPollers();
  }

  /** Ramp subscribers of one kind to `count` (new ones join in the background). */
  async setSubscribers(count: number, kind: ClientKind = 'lean'): Promise<void> {
    if (!Number.isInteger(count) || count < 0)
      throw new RangeError(`subscriber count must be ≥ 0, got ${count}`);
    this.desired[kind] = count;
    this.metrics.subscribersDesired.set({ ...this.labels, client: kind }, count);
    const mine = [...this.subscribers.values()].filter((s) => s.kind === kind);
    if (this.realtimePaths.length === 0) return;
    for (let i = mine.length; i < count; i++) await this.addSubscriber(kind);
    const surplus = mine.slice(count);
    await Promise.all(surplus.map((s) => this.removeSubscriber(s)));
    if (this.started) this.syncPollers();
  }

  /** Publish one synthetic waiver now; its outcomes finalise at the deadline. */
  async publishOne(): Promise<string> {
    const eventId = randomUUID();
    const publisher = this.publisher ?? (this.publisher = await this.createPublisher());
    const publishedAt = this.clock.now();
    this.ledger.publish(eventId, publishedAt);
    const record: { eventId: string; assignmentId?: string; publishedAt: number } = { eventId, publishedAt };
    const started = this.clock.now();
    const mode = this.probe.publishMode;
    const attempt = publisher
      .publish({ eventId, probe: this.probe.name, env: this.env.name, payloadBytes: this.probe.payloadBytes })
      .then(
        (result) => {
          this.metrics.publishDuration.observe({ ...this.labels, mode }, (this.clock.now() - started) / 1000);
          this.metrics.eventsPublished.inc({ ...this.labels, mode });
          this.eventsPublished += 1;
          countFailedSteps(this.metrics, this.labels, result);
          if (result.assignmentId) {
            record.assignmentId = result.assignmentId;
            this.ledger.setAssignmentId(eventId, result.assignmentId);
          }
          this.published.push(record);
          if (this.published.length > 1000) this.published.splice(0, this.published.length - 1000);
          return eventId;
        },
        (error: unknown) => {
          this.ledger.publishFailed(eventId);
          this.publishErrorCount += 1;
          const step = stepOf(error);
          this.metrics.publishErrors.inc({ ...this.labels, step });
          this.logger.warn('publishing a synthetic waiver failed', { step, error: messageOf(error) });
          throw error;
        },
      );
    this.inFlightPublishes.add(attempt);
    try {
      return await attempt;
    } finally {
      this.inFlightPublishes.delete(attempt);
    }
  }

  /** A scheduled round: publish eventsPerRound, wait for every outcome, set probe_success. */
  async runRound(): Promise<RoundResult> {
    const started = this.clock.now();
    const eventIds: string[] = [];
    let publishErrors = 0;
    const seen: OutcomeRecord[] = [];
    const off = this.ledger.onOutcome((o) => seen.push(o));
    try {
      for (let i = 0; i < this.probe.eventsPerRound; i++) {
        try {
          eventIds.push(await this.publishOne());
        } catch {
          publishErrors += 1;
        }
      }
      await this.waitFinalized(eventIds);
    } finally {
      off();
    }
    const mine = new Set(eventIds);
    const outcomes: RoundResult['outcomes'] = {};
    for (const path of this.probe.paths) outcomes[path] = emptyCounts();
    let dropped = 0;
    for (const record of seen) {
      if (!mine.has(record.eventId)) continue;
      const bucket = outcomes[record.path];
      if (bucket) bucket[record.outcome] += 1;
      if (record.outcome === 'dropped') dropped += 1;
    }
    const success = publishErrors === 0 && dropped === 0 && eventIds.length > 0;
    const durationMs = this.clock.now() - started;
    this.roundsCompleted += 1;
    this.lastRoundAt = new Date(this.clock.wallNow()).toISOString();
    this.lastRoundSuccess = success;
    this.metrics.probeRuns.inc({ ...this.labels, result: success ? 'success' : 'failure' });
    this.metrics.probeSuccess.set(this.labels, success ? 1 : 0);
    this.metrics.probeDuration.observe(this.labels, durationMs / 1000);
    this.metrics.probeLastRun.set(this.labels, this.clock.wallNow() / 1000);
    return { eventIds, success, publishErrors, durationMs, outcomes };
  }

  /** Wait until every published event has final outcomes (bounded by the deadline plus slack). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inFlightPublishes]);
    await this.readinessTrain;
    const limit = this.clock.now() + this.probe.deadline + 2000;
    while (this.ledger.pendingEvents() > 0 && this.clock.now() < limit) {
      this.ledger.tick();
      const last = this.ledger.lastDeadline();
      const wait = last === undefined ? 0 : Math.min(250, Math.max(10, last - this.clock.now()));
      await sleep(wait);
    }
    this.ledger.tick(Number.POSITIVE_INFINITY);
  }

  /** Drain, then disconnect everything. Safe to call more than once. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.readinessUntil = 0;
      await this.drain();
      if (this.tickTimer) clearInterval(this.tickTimer);
      if (this.cleanupTimer) clearInterval(this.cleanupTimer);
      await Promise.all([...this.pollers.values()].map((p) => p.stop()));
      this.pollers.clear();
      await Promise.all([...this.subscribers.values()].map((s) => this.removeSubscriber(s)));
      await this.publisher?.close?.();
    })();
    return this.stopping;
  }

  onOutcome(listener: (o: OutcomeRecord) => void): () => void {
    return this.ledger.onOutcome(listener);
  }

  status(): ProbeStatus {
    const groups = (['lean', 'supabase-js'] as const).map((client) => {
      const byStatus: Partial<Record<SubscriberState, number>> = {};
      for (const s of this.subscribers.values()) {
        if (s.kind !== client) continue;
        const state = overallState(s);
        byStatus[state] = (byStatus[state] ?? 0) + 1;
      }
      return { client, desired: this.desired[client], byStatus };
    });
    const paths = this.probe.paths.map((path): ProbePathStatus => {
      const t = this.ledger.totalsFor(path);
      const sample = this.ledger.latencySample(path);
      return {
        path,
        latencyMs: {
          p50: percentile(sample, 0.5),
          p95: percentile(sample, 0.95),
          p99: percentile(sample, 0.99),
        },
        due: t.due,
        delivered: t.delivered,
        late: t.late,
        dropped: t.dropped,
        duplicates: t.duplicates,
        outOfOrder: t.outOfOrder,
        gapMissed: t.gapMissed,
        gapCoveredByPolling: t.gapCoveredByPolling,
        replayRecovered: t.replayRecovered,
        untrusted: t.untrusted,
        zombies: this.ledger.zombies(path).length,
        readinessMissedEvents: this.ledger.readiness(path).missedEvents,
        deliveredRatio: deliveredRatio(t),
      };
    });
    return {
      env: this.env.name,
      probe: this.probe.name,
      roundsCompleted: this.roundsCompleted,
      lastRoundAt: this.lastRoundAt,
      lastRoundSuccess: this.lastRoundSuccess,
      eventsPublished: this.eventsPublished,
      publishErrors: this.publishErrorCount,
      pendingEvents: this.ledger.pendingEvents(),
      unmatchedDeliveries: this.ledger.unmatchedDeliveries(),
      subscribers: groups,
      paths,
      mechanics: this.env.mechanicPool.statuses(),
      recentEvents: this.ledger.recentEvents(RECENT_EVENTS).map((e) => ({
        id: e.eventId,
        publishedAt: new Date(e.publishedWallAt).toISOString(),
        latencyMs: e.latencyMs,
      })),
    };
  }

  /** Subscribers currently SUBSCRIBED on every realtime path. */
  connectedCount(kind?: ClientKind): number {
    let n = 0;
    for (const s of this.subscribers.values()) {
      if ((kind === undefined || s.kind === kind) && overallState(s) === 'SUBSCRIBED') n += 1;
    }
    return n;
  }

  /** Resolves once every subscriber is SUBSCRIBED on every realtime path (or the timeout passes). */
  async waitUntilSubscribed(timeoutMs = 15_000): Promise<boolean> {
    const until = this.clock.now() + timeoutMs;
    while (this.clock.now() < until) {
      const total = this.desired.lean + this.desired['supabase-js'];
      if (this.subscribers.size >= total && this.connectedCount() === this.subscribers.size) return true;
      await sleep(50);
    }
    return false;
  }

  // ── Internals ────────────────────────────────────────────────────────────────

  private async createPublisher(): Promise<EventPublisher> {
    const option = this.publisherOption;
    if (option === undefined) return defaultPublisherFactory(this.env, this.probe, this.logger, this.clock);
    return typeof option === 'function' ? await option(this.env, this.probe, this.logger) : option;
  }

  private async mechanicFor(index: number): Promise<MechanicIdentity> {
    const mechanics = this.env.mechanics;
    if (mechanics.length === 0) {
      if (this.env.addMechanic) {
        const created = await this.env.addMechanic();
        (mechanics as MechanicIdentity[]).push(created);
        return created;
      }
      throw new Error(`environment "${this.env.name}" has no mechanic tokens`);
    }
    return mechanics[index % mechanics.length]!;
  }

  private async addSubscriber(kind: ClientKind): Promise<void> {
    const index = this.nextSubscriber++;
    const id = `${this.env.name}/${this.probe.name}/${kind}-${index}`;
    const mechanic = await this.mechanicFor(index);
    const paths = this.realtimePaths;
    const running: RunningSubscriber = {
      id,
      kind,
      mechanic,
      subscriber: undefined as unknown as Subscriber, // set right below; handlers need `running` first
      startedAt: this.clock.now(),
      channels: new Map(
        paths.map((p) => [p, { status: 'JOINING', everSubscribed: false, lostAt: undefined }]),
      ),
      resubscribeTimer: undefined,
      resubscribeAttempts: 0,
      partlyClosedSince: undefined,
    };
    this.ledger.addSubscriber(id, { kind, mechanicId: mechanic.id, paths });
    running.subscriber = this.createSubscriber(running);
    this.subscribers.set(id, running);
    for (const _ of paths) this.metrics.joinAttempts.inc({ ...this.labels, client: kind });
    running.subscriber.start();
  }

  private createSubscriber(running: RunningSubscriber): Subscriber {
    const session = running.mechanic.session;
    const signIn = running.kind === 'supabase-js' ? this.env.mechanicPool.clientSignIn(session) : undefined;
    return this.factories[running.kind]({
      id: running.id,
      supabaseUrl: this.env.supabaseUrl,
      anonKey: this.env.anonKey.reveal(),
      transport: this.env.transport,
      tokens: session,
      ...(signIn ? { signIn } : {}),
      schema: this.env.schema,
      table: this.env.table,
      changesChannel: this.env.changesChannel,
      broadcastChannel: this.env.broadcastChannel,
      broadcastEvent: this.env.broadcastEvent,
      dbBroadcast: {
        topic: this.env.dbBroadcast.topic.replaceAll('{mechanic}', running.mechanic.id),
        event: this.env.dbBroadcast.event,
        replay: this.env.dbBroadcast.replay,
      },
      paths: this.realtimePaths,
      clock: this.clock,
      handlers: {
        onStatus: (change) => this.onStatus(running, change),
        onDelivery: (delivery) => this.onDelivery(running, delivery),
        onTiming: (timing) => this.onTiming(running, timing),
      },
    });
  }

  /** The server closed a channel (token expired, policy refused…): replace the subscriber later. */
  private scheduleResubscribe(running: RunningSubscriber): void {
    if (running.resubscribeTimer || this.stopping || !this.subscribers.has(running.id)) return;
    const delay =
      RESUBSCRIBE_DELAYS_MS[Math.min(running.resubscribeAttempts, RESUBSCRIBE_DELAYS_MS.length - 1)]!;
    running.resubscribeAttempts += 1;
    running.resubscribeTimer = setTimeout(() => {
      running.resubscribeTimer = undefined;
      void this.resubscribe(running);
    }, delay);
    running.resubscribeTimer.unref();
  }

  private async resubscribe(running: RunningSubscriber): Promise<void> {
    if (this.stopping || !this.subscribers.has(running.id)) return;
    const states = [...running.channels.values()].map((c) => c.status);
    if (!states.includes('CLOSED')) return; // recovered meanwhile
    const now = this.clock.now();
    const healthy = states.some((state) => state === 'SUBSCRIBED');
    if (
      healthy &&
      (running.partlyClosedSince === undefined || now - running.partlyClosedSince < PARTLY_CLOSED_LIMIT_MS)
    ) {
      running.partlyClosedSince ??= now;
      this.scheduleResubscribe(running);
      return;
    }
    // A token that is expired now would only be refused again: wait for its renewal.
    const session = running.mechanic.session;
    if (session.expiresAt > 0 && session.expiresAt <= this.clock.wallNow() + 1_000) {
      this.scheduleResubscribe(running);
      return;
    }
    running.partlyClosedSince = undefined;
    const previous = running.subscriber;
    await previous.stop().catch((error: unknown) => {
      this.logger.warn('stopping a closed subscriber failed', {
        subscriber: running.id,
        error: messageOf(error),
      });
    });
    if (this.stopping || !this.subscribers.has(running.id)) return;
    for (const [path, channel] of running.channels) {
      if (channel.status === 'SUBSCRIBED') {
        // The healthy channel goes down with the socket; what it misses now is a real gap.
        channel.lostAt = now;
        this.ledger.setStatus(running.id, path, 'CLOSED', now);
      }
      channel.status = 'JOINING';
    }
    this.logger.info('resubscribing a subscriber whose channels the server closed', {
      subscriber: running.id,
    });
    running.subscriber = this.createSubscriber(running);
    for (const _ of running.channels) this.metrics.joinAttempts.inc({ ...this.labels, client: running.kind });
    running.subscriber.start();
    this.updateConnected();
  }

  private async removeSubscriber(running: RunningSubscriber): Promise<void> {
    if (!this.subscribers.delete(running.id)) return;
    clearTimeout(running.resubscribeTimer);
    this.ledger.removeSubscriber(running.id);
    try {
      await running.subscriber.stop();
    } catch (error) {
      this.logger.warn('stopping a subscriber failed', { subscriber: running.id, error: messageOf(error) });
    }
    this.updateConnected();
  }

  private onTiming(running: RunningSubscriber, timing: PhaseTiming): void {
    const client = running.kind;
    this.metrics.connectionPhase.observe({ ...this.labels, client, phase: timing.phase }, timing.ms / 1000);
    if (timing.phase === 'tls') {
      this.metrics.tlsHandshakes.inc({ ...this.labels, client, resumed: timing.resumed ? 'true' : 'false' });
    }
  }

  private onStatus(running: RunningSubscriber, change: StatusChange): void {
    if (!this.subscribers.has(running.id)) return;
    const channel = running.channels.get(change.channel);
    if (!channel) return;
    const client = running.kind;
    this.metrics.subscriptionTransitions.inc({ ...this.labels, client, status: change.status });
    if (change.status === 'SUBSCRIBED') {
      if (!channel.everSubscribed) {
        this.metrics.timeToSubscribed.observe(
          { ...this.labels, client },
          (change.at - running.startedAt) / 1000,
        );
      } else if (channel.status !== 'SUBSCRIBED') {
        this.metrics.reconnects.inc({ ...this.labels, client });
        if (channel.lostAt !== undefined) {
          this.metrics.gapDuration.observe({ ...this.labels, client }, (change.at - channel.lostAt) / 1000);
        }
      }
      channel.everSubscribed = true;
      channel.lostAt = undefined;
      channel.status = 'SUBSCRIBED';
      running.resubscribeAttempts = 0;
      this.ledger.setStatus(running.id, change.channel, 'SUBSCRIBED', change.at);
      this.requestReadinessCheck();
    } else {
      if (channel.status === 'SUBSCRIBED') channel.lostAt = change.at;
      channel.status = change.status;
      if (change.status !== 'CLOSED' || channel.everSubscribed) {
        this.metrics.subscriptionErrors.inc({ ...this.labels, client, reason: change.reason ?? 'other' });
      }
      if (change.reason === 'auth' || change.reason === 'unauthorized') {
        this.metrics.authSubscriptionErrors.inc({
          ...this.labels,
          client,
          auth_reason: mapAuthReason(change.message ?? ''),
        });
      }
      if (change.status === 'CHANNEL_ERROR' || change.status === 'TIMED_OUT') {
        // realtime-js (and the lean client) rejoin by themselves after these.
        this.metrics.joinAttempts.inc({ ...this.labels, client });
      }
      // A refused token is an auth failure: what the channel misses meanwhile is not a drop.
      this.ledger.setStatus(
        running.id,
        change.channel,
        change.status,
        change.at,
        change.reason === 'auth' ? 'auth' : undefined,
      );
      if (change.status === 'CLOSED') this.scheduleResubscribe(running);
      if ((change.reason === 'auth' || change.reason === 'unauthorized') && !this.authReported) {
        this.authReported = true;
        this.logger.error('Realtime refused a subscriber: the key or the mechanic token was rejected', {
          reason: change.reason,
          message: change.message,
          hint: `check that ${this.env.config.remote?.anonKeyEnv ?? 'the anon key'} and the mechanic tokens belong to this project and the tokens have not expired`,
        });
      }
      this.logger.debug('subscription status', {
        subscriber: running.id,
        channel: change.channel,
        status: change.status,
        reason: change.reason,
      });
    }
    this.updateConnected();
  }

  private onDelivery(running: RunningSubscriber, delivery: Delivery): void {
    if (!this.subscribers.has(running.id)) return;
    const record: Parameters<EventLedger['recordDelivery']>[0] = {
      subscriberId: running.id,
      path: delivery.path,
      keys: delivery.keys,
      receivedAt: delivery.receivedAt,
    };
    if (delivery.commitTimestamp !== undefined) record.commitTimestamp = delivery.commitTimestamp;
    if (delivery.replayed) record.replayed = true;
    this.ledger.recordDelivery(record);
  }

  private updateConnected(): void {
    let total = 0;
    for (const kind of ['lean', 'supabase-js'] as const) {
      const n = this.connectedCount(kind);
      total += n;
      this.metrics.subscribersConnected.set({ ...this.labels, client: kind }, n);
    }
    if (total > this.peakConnected) {
      this.peakConnected = total;
      this.metrics.connectionsPeak.set(this.labels, total);
    }
  }

  /** One poller per mechanic that has a subscriber (or one, when polling is the only path). */
  private syncPollers(): void {
    if (!this.probe.paths.includes('polling') || !this.env.queueUrl || this.stopping) return;
    const wanted = new Map<string, MechanicIdentity>();
    for (const s of this.subscribers.values()) wanted.set(s.mechanic.id, s.mechanic);
    if (wanted.size === 0 && this.env.mechanics[0])
      wanted.set(this.env.mechanics[0].id, this.env.mechanics[0]);
    for (const [mechanicId, poller] of this.pollers) {
      if (!wanted.has(mechanicId)) {
        this.pollers.delete(mechanicId);
        this.ledger.removeSubscriber(pollerId(mechanicId));
        void poller.stop();
      }
    }
    for (const [mechanicId, mechanic] of wanted) {
      if (this.pollers.has(mechanicId)) continue;
      const id = pollerId(mechanicId);
      this.ledger.addSubscriber(id, { mechanicId, paths: ['polling'] });
      this.ledger.setStatus(id, 'polling', 'SUBSCRIBED');
      const poller = new PollingWatcher({
        env: this.env.name,
        probe: this.probe.name,
        queueUrl: this.env.queueUrl,
        fetch: this.env.transport.fetch,
        token: () => mechanic.session.current(),
        apiKey: this.env.kind === 'local' ? this.env.anonKey.reveal() : undefined,
        intervalMs: this.probe.pollInterval,
        clock: this.clock,
        metrics: this.metrics,
        logger: this.logger,
        expectedEvents: () => this.published,
        onDelivery: (d) => this.ledger.recordDelivery({ subscriberId: id, path: 'polling', ...d }),
        onAuthChange: (refused, at) =>
          this.ledger.setStatus(
            id,
            'polling',
            refused ? 'CHANNEL_ERROR' : 'SUBSCRIBED',
            at,
            refused ? 'auth' : undefined,
          ),
      });
      this.pollers.set(mechanicId, poller);
      poller.start();
    }
  }

  /**
   * After a SUBSCRIBED, publish a short train of events (every 250 ms for 2 s after the latest
   * SUBSCRIBED, at most 12) so the ledger can see whether changes right after SUBSCRIBED are lost.
   */
  private requestReadinessCheck(): void {
    if (!this.probe.readinessCheck || this.stopping || !this.started) return;
    this.readinessUntil = this.clock.now() + READINESS_WINDOW_MS;
    if (this.readinessTrain) return;
    this.readinessTrain = (async () => {
      let sent = 0;
      while (!this.stopping && this.clock.now() < this.readinessUntil && sent < READINESS_MAX_EVENTS) {
        sent += 1;
        await this.publishOne().catch(() => {});
        await sleep(READINESS_SPACING_MS);
      }
    })().finally(() => {
      this.readinessTrain = undefined;
    });
  }

  private startCleanup(): void {
    if (!this.publisher?.cleanup) return;
    const every = Math.max(10_000, Math.min(this.probe.retention / 2, 300_000));
    this.cleanupTimer = setInterval(() => {
      this.cleanup().then(
        (removed) => {
          if (removed > 0) this.logger.debug('removed synthetic rows past retention', { removed });
        },
        (error: unknown) =>
          this.logger.warn('cleaning up synthetic rows failed', { error: messageOf(error) }),
      );
    }, every);
    this.cleanupTimer.unref?.();
  }

  /**
   * Delete this environment's synthetic rows older than the probe's retention (the timer does
   * this every retention/2, between 10 s and 5 min). Resolves with how many went; 0 when the
   * publisher cannot clean up (no service-role key).
   */
  async cleanup(): Promise<number> {
    const publisher = this.publisher ?? (this.publisher = await this.createPublisher());
    return publisher.cleanup ? publisher.cleanup(this.probe.retention) : 0;
  }

  private async waitFinalized(eventIds: readonly string[]): Promise<void> {
    const limit = this.clock.now() + this.probe.deadline + 2000;
    while (this.clock.now() < limit && eventIds.some((id) => !this.ledger.isFinalized(id))) {
      this.ledger.tick();
      await sleep(Math.min(this.tickMs, 100));
    }
  }
}

function pollerId(mechanicId: string): string {
  return `poll:${mechanicId}`;
}

function overallState(s: RunningSubscriber): SubscriberState {
  const states = [...s.channels.values()].map((c) => c.status);
  if (states.every((st) => st === 'SUBSCRIBED')) return 'SUBSCRIBED';
  for (const bad of ['CHANNEL_ERROR', 'TIMED_OUT', 'CLOSED'] as const) if (states.includes(bad)) return bad;
  return 'JOINING';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function stepOf(error: unknown): string {
  const step = (error as { step?: unknown } | null)?.step;
  return typeof step === 'string' ? step : 'endpoint';
}
