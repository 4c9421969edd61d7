/**
 * The books of one Artillery worker: the core's EventLedger, the virtual users' subscribers and the
 * synthetic-waiver publisher, with every outcome turned into Artillery counters and histograms.
 *
 * Accounting is per worker (per process or thread Artillery starts): an event is judged against the
 * subscribers of the worker that published it. Subscribers never see a foreign event as theirs —
 * deliveries of events another worker published match nothing here and are counted as unmatched.
 *
 * Counter arithmetic, per path, once every virtual user has finished:
 *   canary.<path>.due = delivered + late + dropped + withdrawn
 * `due` is emitted when a publish settles (less the triples a failed publish takes back), each
 * outcome when the ledger gives it, `withdrawn` when a subscriber leaves with events still open —
 * which only happens if it cannot wait for their deadline.
 */
import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { EventLedger, OutcomeRecord, PathTotals } from '../../../src/probe/index.js';
import type {
  Publisher,
  PublishResult,
  RealtimePath,
  StatusChange,
  Subscriber,
  SubscriptionStatus,
} from '../../../src/realtime/index.js';
import type { Core } from './core.js';
import type { EngineConfig } from './engine-config.js';

/** Artillery metric names; docs/artillery.md lists them with their core counterparts. */
export const METRIC = {
  latency: (path: RealtimePath) => `canary.delivery.${path}`,
  outcome: (path: RealtimePath, outcome: string) => `canary.${path}.${outcome}`,
  due: (path: RealtimePath) => `canary.${path}.due`,
  withdrawn: (path: RealtimePath) => `canary.${path}.withdrawn`,
  duplicates: (path: RealtimePath) => `canary.${path}.duplicates`,
  outOfOrder: (path: RealtimePath) => `canary.${path}.out_of_order`,
  arrivedAfterDrop: (path: RealtimePath) => `canary.${path}.arrived_after_drop`,
  unmatched: 'canary.deliveries.unmatched',
  published: 'canary.events.published',
  publishFailed: (step: string) => `canary.events.publish_failed.${step}`,
  publishStepFailed: (step: string) => `canary.events.step_failed.${step}`,
  publishMs: 'canary.publish.duration',
  joinMs: (path: RealtimePath) => `canary.subscribe.join.${path}`,
  subscribed: 'canary.subscribe.subscribed',
  notSubscribed: 'canary.subscribe.not_subscribed',
  resubscribed: (path: RealtimePath) => `canary.subscribe.resubscribed.${path}`,
  statusLost: (path: RealtimePath, status: string, reason: string) =>
    `canary.status.${path}.${status.toLowerCase()}.${reason}`,
} as const;

const TICK_MS = 100;
const ENVIRONMENT = 'artillery';
/** Past an event's deadline the ledger still needs one tick to call it dropped. */
const SETTLE_MARGIN_MS = 3 * TICK_MS + 500;

interface VirtualUser {
  id: string;
  subscriber: Subscriber;
  paths: RealtimePath[];
  startedAt: number;
  status: Map<RealtimePath, SubscriptionStatus>;
  everSubscribed: Set<RealtimePath>;
  /** `${eventId} ${path}` → deadline (monotonic ms) for events this user is due to receive. */
  awaiting: Map<string, number>;
  joinWaiters: Set<() => void>;
}

type Emitter = Pick<EventEmitter, 'emit'>;

export class EngineBooks {
  readonly ledger: EventLedger;
  private readonly core: Core;
  private readonly config: EngineConfig;
  private readonly users = new Map<string, VirtualUser>();
  private readonly inFlight = new Set<Promise<void>>();
  private emitter: Emitter | undefined;
  private publisher: Publisher | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private active = 0;
  private nextToken = 0;
  private reported: Record<RealtimePath, PathTotals> | undefined;
  private reportedUnmatched = 0;

  constructor(core: Core, config: EngineConfig) {
    this.core = core;
    this.config = config;
    this.ledger = new core.probe.EventLedger({
      env: ENVIRONMENT,
      probe: config.probe,
      lateAfterMs: config.lateAfterMs,
      deadlineMs: config.deadlineMs,
      clock: core.shared.systemClock,
    });
    this.ledger.onOutcome((record) => this.onOutcome(record));
  }

  /** Artillery hands every scenario the same emitter per worker; outcomes go out through it. */
  attach(emitter: Emitter): void {
    this.emitter ??= emitter;
  }

  /** A virtual user starts; the ledger's clock runs while any user does. */
  enter(): void {
    this.active += 1;
    if (!this.tickTimer) {
      this.tickTimer = setInterval(() => this.ledger.tick(), TICK_MS);
      this.tickTimer.unref();
    }
  }

  /** A virtual user is done: report what the ledger counted since, and close when idle. */
  async leave(): Promise<void> {
    this.active -= 1;
    this.flushTotals();
    if (this.active > 0) return;
    await Promise.allSettled([...this.inFlight]);
    if (this.active > 0) return;
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = undefined;
    const publisher = this.publisher;
    this.publisher = undefined;
    await publisher?.close().catch(() => undefined);
  }

  private counter(name: string, value = 1): void {
    this.emitter?.emit('counter', name, value);
  }

  private histogram(name: string, value: number): void {
    this.emitter?.emit('histogram', name, value);
  }

  // ── Subscribers ──────────────────────────────────────────────────────────────

  /** Connects one lean subscriber and waits (up to the join timeout) until every path is SUBSCRIBED. */
  async subscribe(paths: RealtimePath[] = this.config.paths): Promise<string> {
    const clock = this.core.shared.systemClock;
    const id = `artillery-${randomUUID().slice(0, 8)}`;
    const token = this.config.mechanicTokens[this.nextToken++ % this.config.mechanicTokens.length];
    if (token === undefined) throw new Error('no mechanic token configured');
    const subscriber = this.core.realtime.createLeanSubscriber(
      {
        id,
        supabaseUrl: this.config.url,
        anonKey: this.config.anonKey,
        tokens: this.core.realtime.fixedToken(token),
        schema: this.config.schema,
        table: this.config.table,
        changesChannel: this.config.changesChannel,
        broadcastChannel: this.config.broadcastChannel,
        broadcastEvent: this.config.broadcastEvent,
        paths,
        clock,
        joinTimeoutMs: this.config.joinTimeoutMs,
        handlers: {
          onStatus: (change) => this.onStatus(id, change),
          onDelivery: (delivery) => {
            const keys: { eventId?: string; assignmentId?: string } = {};
            if (delivery.keys.eventId !== undefined) keys.eventId = delivery.keys.eventId;
            if (delivery.keys.assignmentId !== undefined) keys.assignmentId = delivery.keys.assignmentId;
            this.ledger.recordDelivery({
              subscriberId: id,
              path: delivery.path,
              keys,
              receivedAt: delivery.receivedAt,
              ...(delivery.commitTimestamp === undefined
                ? {}
                : { commitTimestamp: delivery.commitTimestamp }),
            });
          },
        },
      },
      { vsn: this.config.vsn },
    );
    const user: VirtualUser = {
      id,
      subscriber,
      paths,
      startedAt: clock.now(),
      status: new Map(),
      everSubscribed: new Set(),
      awaiting: new Map(),
      joinWaiters: new Set(),
    };
    this.users.set(id, user);
    this.ledger.addSubscriber(id, { kind: 'lean', paths });
    user.subscriber.start();
    const joined = await this.waitForJoin(user);
    this.counter(joined ? METRIC.subscribed : METRIC.notSubscribed);
    return id;
  }

  private waitForJoin(user: VirtualUser): Promise<boolean> {
    const allJoined = (): boolean => user.paths.every((path) => user.status.get(path) === 'SUBSCRIBED');
    if (allJoined()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (): void => {
        if (!allJoined()) return;
        clearTimeout(timer);
        user.joinWaiters.delete(done);
        resolve(true);
      };
      // The lean client gives up a join at joinTimeoutMs and retries; one attempt is what we wait for.
      const timer = setTimeout(() => {
        user.joinWaiters.delete(done);
        resolve(allJoined());
      }, this.config.joinTimeoutMs + 1_000);
      user.joinWaiters.add(done);
    });
  }

  private onStatus(id: string, change: StatusChange): void {
    const path = change.channel;
    this.ledger.setStatus(id, path, change.status, change.at);
    const user = this.users.get(id);
    if (!user) return;
    user.status.set(path, change.status);
    if (change.status === 'SUBSCRIBED') {
      if (user.everSubscribed.has(path)) {
        this.counter(METRIC.resubscribed(path));
      } else {
        user.everSubscribed.add(path);
        this.histogram(METRIC.joinMs(path), Math.max(0, change.at - user.startedAt));
      }
    } else {
      this.counter(METRIC.statusLost(path, change.status, change.reason ?? 'other'));
    }
    for (const waiter of [...user.joinWaiters]) waiter();
  }

  /**
   * Waits until every event this user was due has an outcome (bounded by the events' deadlines),
   * then leaves the books and closes the socket.
   */
  async unsubscribe(id: string): Promise<void> {
    const user = this.users.get(id);
    if (!user) return;
    const clock = this.core.shared.systemClock;
    let until = 0;
    for (const deadline of user.awaiting.values()) until = Math.max(until, deadline + SETTLE_MARGIN_MS);
    while (user.awaiting.size > 0 && clock.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const before = this.totals();
    this.ledger.removeSubscriber(id);
    const after = this.totals();
    for (const path of user.paths) {
      const withdrawn = after[path].withdrawn - before[path].withdrawn;
      if (withdrawn > 0) this.counter(METRIC.withdrawn(path), withdrawn);
    }
    this.users.delete(id);
    await user.subscriber.stop();
  }

  // ── Publishing ───────────────────────────────────────────────────────────────

  /** Publishes one synthetic waiver and settles its `due` counts; never throws for a failed publish. */
  publish(payloadBytes = 0): Promise<void> {
    const running = this.publishOne(payloadBytes);
    this.inFlight.add(running);
    return running.finally(() => this.inFlight.delete(running));
  }

  private async publishOne(payloadBytes: number): Promise<void> {
    const clock = this.core.shared.systemClock;
    const publisher = this.ensurePublisher();
    const eventId = randomUUID();
    const before = this.totals();
    const publishedAt = clock.now();
    this.ledger.publish(eventId, publishedAt);
    const due = this.totals();
    for (const user of this.users.values()) {
      for (const path of user.everSubscribed) {
        user.awaiting.set(`${eventId} ${path}`, publishedAt + this.config.deadlineMs);
      }
    }
    let result: PublishResult;
    try {
      result = await publisher.publish({ eventId, probe: this.config.probe, payloadBytes });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      result = {
        ok: false,
        broadcastOk: false,
        startedAt: publishedAt,
        finishedAt: clock.now(),
        errors: [{ step: 'endpoint', message }],
      };
    }
    this.histogram(METRIC.publishMs, Math.max(0, result.finishedAt - result.startedAt));
    if (!result.ok) {
      const beforeFailure = this.totals();
      this.ledger.publishFailed(eventId);
      const afterFailure = this.totals();
      for (const path of this.config.paths) {
        const kept = due[path].due - before[path].due - (beforeFailure[path].due - afterFailure[path].due);
        if (kept > 0) this.counter(METRIC.due(path), kept);
      }
      for (const user of this.users.values()) {
        for (const path of user.paths) user.awaiting.delete(`${eventId} ${path}`);
      }
      this.counter(METRIC.publishFailed(result.errors[0]?.step ?? 'endpoint'));
      return;
    }
    if (result.assignmentId !== undefined) this.ledger.setAssignmentId(eventId, result.assignmentId);
    for (const path of this.config.paths) {
      const added = due[path].due - before[path].due;
      if (added > 0) this.counter(METRIC.due(path), added);
    }
    for (const failed of result.errors) this.counter(METRIC.publishStepFailed(failed.step));
    this.counter(METRIC.published);
  }

  private ensurePublisher(): Publisher {
    this.publisher ??= this.core.realtime.createPublisher({
      mode: this.config.publishMode,
      supabaseUrl: this.config.url,
      anonKey: this.config.anonKey,
      serviceRoleKey: this.config.serviceRoleKey,
      waiverUrl: this.config.waiverUrl,
      schema: this.config.schema,
      table: this.config.table,
      sessionsTable: this.config.sessionsTable,
      broadcastChannel: this.config.broadcastChannel,
      broadcastEvent: this.config.broadcastEvent,
      clock: this.core.shared.systemClock,
    });
    return this.publisher;
  }

  // ── Reporting ────────────────────────────────────────────────────────────────

  private onOutcome(record: OutcomeRecord): void {
    if (record.path === 'polling') return;
    const path = record.path;
    this.counter(METRIC.outcome(path, record.outcome));
    if (record.outcome !== 'dropped' && record.latencyMs !== undefined && record.trusted) {
      this.histogram(METRIC.latency(path), record.latencyMs);
    }
    this.users.get(record.subscriberId)?.awaiting.delete(`${record.eventId} ${path}`);
  }

  private totals(): Record<RealtimePath, PathTotals> {
    return {
      postgres_changes: this.ledger.totalsFor('postgres_changes'),
      broadcast: this.ledger.totalsFor('broadcast'),
      db_broadcast: this.ledger.totalsFor('db_broadcast'),
    };
  }

  /** Counts the ledger keeps as totals rather than per outcome, reported as increments. */
  private flushTotals(): void {
    const now = this.totals();
    const last = this.reported;
    for (const path of this.config.paths) {
      const previous = last?.[path];
      const delta = (field: keyof PathTotals): number => now[path][field] - (previous?.[field] ?? 0);
      if (delta('duplicates') > 0) this.counter(METRIC.duplicates(path), delta('duplicates'));
      if (delta('outOfOrder') > 0) this.counter(METRIC.outOfOrder(path), delta('outOfOrder'));
      if (delta('arrivedAfterDrop') > 0)
        this.counter(METRIC.arrivedAfterDrop(path), delta('arrivedAfterDrop'));
    }
    this.reported = now;
    const unmatched = this.ledger.unmatchedDeliveries();
    if (unmatched > this.reportedUnmatched)
      this.counter(METRIC.unmatched, unmatched - this.reportedUnmatched);
    this.reportedUnmatched = unmatched;
  }
}
