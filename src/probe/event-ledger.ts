/**
 * The event ledger: the books of a probe. Every published event gets an id; every subscriber
 * reports when and on which path it saw it; the ledger turns that into exactly one final outcome
 * per (event, subscriber, path) that was due, plus duplicate and out-of-order counts.
 *
 * Definitions (also in docs/configuration.md, "Outcomes"):
 * - latency = receivedAt − publishedAt, both on the harness's monotonic clock;
 *   commit_timestamp → receive is a second, wall-clock (skew-sensitive) view.
 * - latency ≤ lateAfter → delivered; lateAfter < latency ≤ deadline → late; not seen by the
 *   deadline → dropped. A delivery after the deadline is still observed as latency ("arrived
 *   after drop") but the outcome stays dropped.
 * - due: the (subscriber, path) was SUBSCRIBED when the event was published, or was in a gap
 *   (had been SUBSCRIBED, then lost it) — a gap-missed event counts as dropped and as
 *   gap-missed. Subscribers still joining, or that joined after the publish, are not due.
 * - A second sighting on the same (subscriber, path) is a duplicate; a sighting of an event
 *   published before one the (subscriber, path) already saw is out of order. A replayed message
 *   (Broadcast Replay on rejoin) seen for the first time is `replayRecovered` — it reached the
 *   subscriber despite the gap, unlike `gapMissed`; one already seen is `replayRepeated`, not a
 *   duplicate (replay starts a little before the loss on purpose).
 * - Deliveries are matched by eventId, else by assignmentId; one that matches nothing yet is held
 *   (for up to the deadline) and matched when the publisher learns the assignment id.
 * - A subscriber removed on purpose (ramp-down) has its pending triples withdrawn: they are not
 *   due any more and reach no outcome (counted as `withdrawn`).
 * - Measurements taken while the harness is overloaded count toward outcomes but are flagged
 *   untrusted and kept out of the latency histograms.
 *
 * One file, though long: the rules above are one invariant — every due triple ends in exactly one
 * outcome — over one set of books (channels with their gaps, events with their triples, held
 * deliveries). Gaps, readiness and zombie detection each read and write those books at the moment
 * an outcome is decided; split apart they would share the same private state through wider
 * interfaces. It has no I/O and no timers (time comes from the Clock), so its test drives it whole.
 */
import {
  emptyCounts,
  type CanaryMetrics,
  type ClientKind,
  type DeliveryPath,
  type Outcome,
  type OutcomeCounts,
  type SubscriptionStatus,
} from '../metrics/index.js';
import { systemClock, type Clock } from '../shared/index.js';

export interface OutcomeRecord {
  env: string;
  probe: string;
  path: DeliveryPath;
  eventId: string;
  subscriberId: string;
  outcome: Outcome;
  /** Publish-to-receive on the monotonic clock; absent when never seen. */
  latencyMs?: number;
  /** The subscriber was in a gap (not SUBSCRIBED after having been) while the event was due. */
  inGap: boolean;
  /** False when measured while the harness was overloaded. */
  trusted: boolean;
  /** The subscriber's client kind (absent for pollers). */
  kind?: ClientKind;
}

export interface LedgerDelivery {
  subscriberId: string;
  path: DeliveryPath;
  keys: { eventId?: string; assignmentId?: string };
  /** clock.now() at receipt. */
  receivedAt: number;
  /** postgres_changes commit_timestamp (ISO), when known. */
  commitTimestamp?: string;
  /** Sent by Broadcast Replay on rejoin. */
  replayed?: boolean;
}

export interface LedgerOptions {
  env: string;
  probe: string;
  lateAfterMs: number;
  deadlineMs: number;
  /** Consecutive missed events (that others received) before a SUBSCRIBED subscriber is a zombie. */
  zombieAfterMissed?: number;
  clock?: Clock;
  metrics?: CanaryMetrics;
  isOverloaded?: () => boolean;
}

/** A path's books: the outcome counts plus what the ledger saw besides final outcomes. */
export interface PathTotals extends OutcomeCounts {
  due: number;
  duplicates: number;
  outOfOrder: number;
  arrivedAfterDrop: number;
  gapMissed: number;
  gapCoveredByPolling: number;
  /** First seen in a replay after a rejoin (recovered from a gap). */
  replayRecovered: number;
  /** Replayed again although already seen (not counted as duplicates). */
  replayRepeated: number;
  untrusted: number;
  withdrawn: number;
  /** Not counted as due: the subscriber was refused for auth (expired or rejected token). */
  authExcluded: number;
}

export interface SubscriberInfo {
  kind?: ClientKind;
  /** Mechanic whose token the subscriber uses; links realtime subscribers to that mechanic's poller. */
  mechanicId?: string;
  paths: readonly DeliveryPath[];
}

/** `auth`: refused for auth (token expired or rejected); nothing is due until it is SUBSCRIBED again. */
type ChannelState = 'joining' | 'subscribed' | 'gap' | 'auth';

interface Channel {
  subscriberId: string;
  path: DeliveryPath;
  state: ChannelState;
  subscribedAt: number | undefined;
  /** Gap intervals [start, end) that may still matter for pending events; end undefined = open. */
  gaps: { start: number; end: number | undefined }[];
  /** Highest publish sequence seen on this channel (out-of-order detection). */
  highestSeq: number;
  consecutiveMissed: number;
  zombie: boolean;
  /** Readiness: set once the first event published after SUBSCRIBED was received. */
  readinessMeasured: boolean;
  readinessMissed: number;
}

interface Triple {
  channel: Channel;
  inGapAtPublish: boolean;
  firstSeenAt: number | undefined;
  outcome: Outcome | undefined;
  trusted: boolean;
}

interface LedgerEvent {
  eventId: string;
  seq: number;
  publishedAt: number;
  publishedWallAt: number;
  assignmentId: string | undefined;
  triples: Map<string, Triple>;
  /** Triples still without an outcome; at 0 the event is final before its deadline. */
  undecided: number;
  finalized: boolean;
  /** Per path, latencies of delivered/late sightings (for the recent-events view). */
  latencies: Map<DeliveryPath, number[]>;
}

interface HeldDelivery {
  delivery: LedgerDelivery;
  heldAt: number;
}

/** One event's per-path view for status: slowest latency, or 'dropped' if any due triple dropped. */
export interface EventSummary {
  eventId: string;
  publishedWallAt: number;
  finalized: boolean;
  latencyMs: Partial<Record<DeliveryPath, number | 'dropped'>>;
}

const emptyTotals = (): PathTotals => ({
  ...emptyCounts(),
  due: 0,
  duplicates: 0,
  outOfOrder: 0,
  arrivedAfterDrop: 0,
  gapMissed: 0,
  gapCoveredByPolling: 0,
  replayRecovered: 0,
  replayRepeated: 0,
  untrusted: 0,
  withdrawn: 0,
  authExcluded: 0,
});

const tripleKey = (subscriberId: string, path: DeliveryPath): string => `${path}\u0000${subscriberId}`;

/** How many finalized events are kept for late sightings, duplicates and the recent view. */
const FINALIZED_RETENTION = 500;

export class EventLedger {
  readonly env: string;
  readonly probe: string;
  private readonly lateAfterMs: number;
  private readonly deadlineMs: number;
  private readonly zombieAfterMissed: number;
  private readonly clock: Clock;
  private readonly metrics: CanaryMetrics | undefined;
  private readonly isOverloaded: () => boolean;

  private readonly channels = new Map<string, Channel>();
  private readonly subscribers = new Map<string, SubscriberInfo>();
  private readonly events = new Map<string, LedgerEvent>();
  private readonly byAssignment = new Map<string, LedgerEvent>();
  private readonly finalizedOrder: string[] = [];
  private held: HeldDelivery[] = [];
  private seq = 0;
  private readonly totals = new Map<DeliveryPath, PathTotals>();
  private readonly listeners = new Set<(record: OutcomeRecord) => void>();
  private readonly finalizedListeners = new Set<(summary: EventSummary) => void>();
  private readonly recentLatencies = new Map<DeliveryPath, number[]>();
  private unmatched = 0;

  constructor(options: LedgerOptions) {
    if (!(options.lateAfterMs < options.deadlineMs)) {
      throw new RangeError(
        `lateAfterMs (${options.lateAfterMs}) must be below deadlineMs (${options.deadlineMs})`,
      );
    }
    this.env = options.env;
    this.probe = options.probe;
    this.lateAfterMs = options.lateAfterMs;
    this.deadlineMs = options.deadlineMs;
    this.zombieAfterMissed = options.zombieAfterMissed ?? 3;
    this.clock = options.clock ?? systemClock;
    this.metrics = options.metrics;
    this.isOverloaded = options.isOverloaded ?? (() => false);
  }

  // ── Subscribers ──────────────────────────────────────────────────────────────

  addSubscriber(subscriberId: string, info: SubscriberInfo): void {
    this.subscribers.set(subscriberId, info);
    for (const path of info.paths) {
      const key = tripleKey(subscriberId, path);
      if (this.channels.has(key)) continue;
      this.channels.set(key, {
        subscriberId,
        path,
        state: 'joining',
        subscribedAt: undefined,
        gaps: [],
        highestSeq: -1,
        consecutiveMissed: 0,
        zombie: false,
        readinessMeasured: false,
        readinessMissed: 0,
      });
    }
  }

  /** Withdraw a subscriber: its pending triples leave the books without an outcome. */
  removeSubscriber(subscriberId: string): void {
    const info = this.subscribers.get(subscriberId);
    if (!info) return;
    this.subscribers.delete(subscriberId);
    for (const path of info.paths) {
      const key = tripleKey(subscriberId, path);
      const channel = this.channels.get(key);
      if (channel?.zombie) this.metrics?.zombieSubscribers.dec(this.labels(path));
      this.channels.delete(key);
      for (const event of this.events.values()) {
        if (event.finalized) continue;
        const triple = event.triples.get(key);
        if (triple && triple.outcome === undefined) {
          event.triples.delete(key);
          event.undecided -= 1;
          const totals = this.pathTotals(path);
          totals.due -= 1;
          totals.withdrawn += 1;
        }
      }
    }
  }

  /**
   * A channel status transition reported by a subscriber (or a poller starting/stopping). With
   * cause `auth` (Realtime refused the mechanic's token: expired, invalid, revoked) the channel's
   * undecided events are withdrawn and counted as auth-excluded, and nothing is due to it until it
   * is SUBSCRIBED again: an auth failure is reported as auth, never as dropped deliveries.
   */
  setStatus(
    subscriberId: string,
    path: DeliveryPath,
    status: SubscriptionStatus,
    at = this.clock.now(),
    cause?: 'auth',
  ): void {
    const channel = this.channels.get(tripleKey(subscriberId, path));
    if (!channel) return;
    if (status !== 'SUBSCRIBED' && cause === 'auth') {
      this.closeGap(channel, at);
      channel.state = 'auth';
      this.excludeForAuth(channel);
      return;
    }
    if (status === 'SUBSCRIBED') {
      this.closeGap(channel, at);
      if (channel.state !== 'subscribed') {
        channel.subscribedAt = at;
        channel.readinessMeasured = false;
        channel.readinessMissed = 0;
      }
      channel.state = 'subscribed';
      return;
    }
    if (channel.state === 'subscribed') {
      channel.state = 'gap';
      channel.gaps.push({ start: at, end: undefined });
    }
  }

  private closeGap(channel: Channel, at: number): void {
    if (channel.state !== 'gap') return;
    const open = channel.gaps[channel.gaps.length - 1];
    if (open && open.end === undefined) open.end = at;
  }

  private excludeForAuth(channel: Channel): void {
    const key = tripleKey(channel.subscriberId, channel.path);
    const totals = this.pathTotals(channel.path);
    for (const event of this.events.values()) {
      if (event.finalized) continue;
      const triple = event.triples.get(key);
      if (!triple || triple.outcome !== undefined || triple.firstSeenAt !== undefined) continue;
      event.triples.delete(key);
      event.undecided -= 1;
      totals.due -= 1;
      totals.authExcluded += 1;
      this.metrics?.authExcluded.inc(this.labels(channel.path));
      if (event.undecided === 0) this.finalize(event);
    }
  }

  /** Whether the channel is SUBSCRIBED now. */
  isSubscribed(subscriberId: string, path: DeliveryPath): boolean {
    return this.channels.get(tripleKey(subscriberId, path))?.state === 'subscribed';
  }

  // ── Events ───────────────────────────────────────────────────────────────────

  /**
   * Register an event at the moment it is published. Call it before the publish request goes
   * out, so a delivery that beats the publisher's response still finds its event.
   */
  publish(eventId: string, publishedAt = this.clock.now(), publishedWallAt = this.clock.wallNow()): void {
    if (this.events.has(eventId)) throw new Error(`event ${eventId} was already published`);
    const event: LedgerEvent = {
      eventId,
      seq: this.seq++,
      publishedAt,
      publishedWallAt,
      assignmentId: undefined,
      triples: new Map(),
      undecided: 0,
      finalized: false,
      latencies: new Map(),
    };
    for (const [key, channel] of this.channels) {
      if (channel.state === 'joining') continue;
      if (channel.state === 'auth') {
        this.pathTotals(channel.path).authExcluded += 1;
        this.metrics?.authExcluded.inc(this.labels(channel.path));
        continue;
      }
      event.triples.set(key, {
        channel,
        inGapAtPublish: channel.state === 'gap',
        firstSeenAt: undefined,
        outcome: undefined,
        trusted: true,
      });
      event.undecided += 1;
      this.pathTotals(channel.path).due += 1;
    }
    this.events.set(eventId, event);
    this.matchHeld();
  }

  /** The publisher learned the row's id: match deliveries that carried only the assignment id. */
  setAssignmentId(eventId: string, assignmentId: string): void {
    const event = this.events.get(eventId);
    if (!event) return;
    event.assignmentId = assignmentId;
    this.byAssignment.set(assignmentId, event);
    this.matchHeld();
  }

  /**
   * Publishing failed. Triples that already have an outcome (the row got in before a later step
   * failed) stay in the books; the rest were never really due and leave them.
   */
  publishFailed(eventId: string): void {
    const event = this.events.get(eventId);
    if (!event || event.finalized) return;
    for (const [key, triple] of event.triples) {
      if (triple.outcome !== undefined) continue;
      this.pathTotals(triple.channel.path).due -= 1;
      event.triples.delete(key);
      event.undecided -= 1;
    }
    if (event.triples.size === 0) {
      this.events.delete(eventId);
      if (event.assignmentId) this.byAssignment.delete(event.assignmentId);
    } else {
      event.finalized = true;
      this.finalizedOrder.push(eventId);
    }
  }

  recordDelivery(delivery: LedgerDelivery): void {
    const event = this.findEvent(delivery.keys);
    if (!event) {
      this.held.push({ delivery, heldAt: this.clock.now() });
      return;
    }
    this.apply(event, delivery);
  }

  /** Finalize every event whose deadline has passed; call periodically (the runner does). */
  tick(now = this.clock.now()): void {
    for (const event of this.events.values()) {
      if (!event.finalized && now >= event.publishedAt + this.deadlineMs) this.finalize(event);
    }
    const horizon = now - this.deadlineMs;
    if (this.held.length > 0) {
      const keep: HeldDelivery[] = [];
      for (const h of this.held) {
        if (h.heldAt >= horizon) keep.push(h);
        else this.unmatched += 1;
      }
      this.held = keep;
    }
  }

  /** Events published but not yet finalized. */
  pendingEvents(): number {
    let n = 0;
    for (const event of this.events.values()) if (!event.finalized) n += 1;
    return n;
  }

  /** When the last pending event reaches its deadline (monotonic ms), or undefined if none pending. */
  lastDeadline(): number | undefined {
    let last: number | undefined;
    for (const event of this.events.values()) {
      if (event.finalized) continue;
      const due = event.publishedAt + this.deadlineMs;
      last = last === undefined ? due : Math.max(last, due);
    }
    return last;
  }

  isFinalized(eventId: string): boolean {
    return this.events.get(eventId)?.finalized ?? false;
  }

  summary(eventId: string): EventSummary | undefined {
    const event = this.events.get(eventId);
    return event ? this.summarize(event) : undefined;
  }

  /** The newest events first, at most `limit`. */
  recentEvents(limit = 50): EventSummary[] {
    const all = [...this.events.values()].sort((a, b) => b.seq - a.seq).slice(0, limit);
    return all.map((e) => this.summarize(e));
  }

  totalsFor(path: DeliveryPath): PathTotals {
    return { ...this.pathTotals(path) };
  }

  /** Recent latencies (delivered + late, trusted only) for percentiles; newest last. */
  latencySample(path: DeliveryPath): readonly number[] {
    return this.recentLatencies.get(path) ?? [];
  }

  /** Deliveries that matched no event within the deadline (leftovers of other runs, foreign rows). */
  unmatchedDeliveries(): number {
    return this.unmatched;
  }

  zombies(path: DeliveryPath): string[] {
    const out: string[] = [];
    for (const channel of this.channels.values())
      if (channel.path === path && channel.zombie) out.push(channel.subscriberId);
    return out;
  }

  onOutcome(listener: (record: OutcomeRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called once per event when all its triples have final outcomes. */
  onEventFinalized(listener: (summary: EventSummary) => void): () => void {
    this.finalizedListeners.add(listener);
    return () => this.finalizedListeners.delete(listener);
  }

  // ── Internals ────────────────────────────────────────────────────────────────

  private findEvent(keys: LedgerDelivery['keys']): LedgerEvent | undefined {
    if (keys.eventId !== undefined) {
      const byId = this.events.get(keys.eventId);
      if (byId) return byId;
    }
    if (keys.assignmentId !== undefined) return this.byAssignment.get(keys.assignmentId);
    return undefined;
  }

  private matchHeld(): void {
    if (this.held.length === 0) return;
    const still: HeldDelivery[] = [];
    for (const h of this.held) {
      const event = this.findEvent(h.delivery.keys);
      if (event) this.apply(event, h.delivery);
      else still.push(h);
    }
    this.held = still;
  }

  private apply(event: LedgerEvent, delivery: LedgerDelivery): void {
    const key = tripleKey(delivery.subscriberId, delivery.path);
    const triple = event.triples.get(key);
    // Not due (joined after the publish, or unknown subscriber): no outcome to give.
    if (!triple) return;
    const path = delivery.path;
    const labels = this.labels(path);
    const totals = this.pathTotals(path);
    if (triple.firstSeenAt !== undefined && delivery.replayed) {
      totals.replayRepeated += 1;
      return;
    }
    if (triple.firstSeenAt !== undefined) {
      totals.duplicates += 1;
      this.metrics?.duplicates.inc(labels);
      return;
    }
    triple.firstSeenAt = delivery.receivedAt;
    if (delivery.replayed) {
      totals.replayRecovered += 1;
      this.metrics?.replayRecovered.inc(labels);
    }
    const channel = triple.channel;
    if (event.seq < channel.highestSeq) {
      totals.outOfOrder += 1;
      this.metrics?.outOfOrder.inc(labels);
    } else {
      channel.highestSeq = event.seq;
    }
    const latencyMs = Math.max(0, delivery.receivedAt - event.publishedAt);
    const trusted = !this.isOverloaded();
    triple.trusted = trusted;
    if (trusted) {
      this.metrics?.deliveryLatency.observe(labels, latencyMs / 1000);
      if (delivery.commitTimestamp) {
        const commitWall = Date.parse(delivery.commitTimestamp);
        if (Number.isFinite(commitWall)) {
          const receivedWall = this.clock.wallNow() - (this.clock.now() - delivery.receivedAt);
          this.metrics?.commitToReceive.observe(labels, Math.max(0, receivedWall - commitWall) / 1000);
        }
      }
    } else {
      totals.untrusted += 1;
      this.metrics?.untrustedMeasurements.inc(labels);
    }
    if (channel.state === 'subscribed') channel.consecutiveMissed = 0;
    this.clearZombie(channel);
    this.noteReadiness(channel, event);

    if (triple.outcome !== undefined) {
      // Already dropped at the deadline: the sighting is latency, not a new outcome.
      totals.arrivedAfterDrop += 1;
      return;
    }
    if (latencyMs > this.deadlineMs) {
      // Seen after the deadline but before tick() ran: dropped all the same.
      totals.arrivedAfterDrop += 1;
      return;
    }
    const outcome: Outcome = latencyMs <= this.lateAfterMs ? 'delivered' : 'late';
    this.record(event, triple, outcome, latencyMs);
    if (trusted) this.pushLatency(path, latencyMs);
    const list = event.latencies.get(path) ?? [];
    list.push(latencyMs);
    event.latencies.set(path, list);
    // Everyone due has it: nothing can change this event's outcomes any more, so settle it now
    // (later sightings still count as duplicates) instead of at the deadline.
    if (event.undecided === 0 && !event.finalized) this.finalize(event);
  }

  private finalize(event: LedgerEvent): void {
    event.finalized = true;
    const end = event.publishedAt + this.deadlineMs;
    // Which mechanics' pollers saw the event in time (for "did polling cover the gap").
    const polledBy = new Set<string>();
    let polledByAnyone = false;
    const receivedOnPath = new Map<DeliveryPath, number>();
    for (const triple of event.triples.values()) {
      if (triple.outcome === 'delivered' || triple.outcome === 'late') {
        receivedOnPath.set(triple.channel.path, (receivedOnPath.get(triple.channel.path) ?? 0) + 1);
        if (triple.channel.path === 'polling') {
          polledByAnyone = true;
          const mechanic = this.subscribers.get(triple.channel.subscriberId)?.mechanicId;
          if (mechanic) polledBy.add(mechanic);
        }
      }
    }
    for (const triple of event.triples.values()) {
      if (triple.outcome !== undefined) continue;
      const channel = triple.channel;
      const path = channel.path;
      const inGap = triple.inGapAtPublish || this.gapOverlaps(channel, event.publishedAt, end);
      this.record(event, triple, 'dropped', undefined, inGap);
      if (inGap) {
        const totals = this.pathTotals(path);
        totals.gapMissed += 1;
        this.metrics?.gapEventsMissed.inc(this.labels(path));
        if (path !== 'polling') {
          const mechanic = this.subscribers.get(channel.subscriberId)?.mechanicId;
          const covered = mechanic ? polledBy.has(mechanic) : polledByAnyone;
          if (covered) {
            totals.gapCoveredByPolling += 1;
            this.metrics?.gapEventsCoveredByPolling.inc({ env: this.env, probe: this.probe });
          }
        }
      } else if (channel.state === 'subscribed' && (receivedOnPath.get(path) ?? 0) > 0) {
        // Others on this path got it while this one sat SUBSCRIBED: a zombie sign.
        channel.consecutiveMissed += 1;
        if (!channel.zombie && channel.consecutiveMissed >= this.zombieAfterMissed) {
          channel.zombie = true;
          this.metrics?.zombieSubscribers.inc(this.labels(path));
        }
      }
    }
    this.pruneGaps(end);
    this.finalizedOrder.push(event.eventId);
    while (this.finalizedOrder.length > FINALIZED_RETENTION) {
      const old = this.finalizedOrder.shift();
      if (old === undefined) break;
      const gone = this.events.get(old);
      this.events.delete(old);
      if (gone?.assignmentId) this.byAssignment.delete(gone.assignmentId);
    }
    if (this.finalizedListeners.size > 0) {
      const summary = this.summarize(event);
      for (const listener of this.finalizedListeners) listener(summary);
    }
  }

  /**
   * Readiness gap: a channel that is SUBSCRIBED but misses the changes published right after
   * (realtime-js#525). When the first event published after SUBSCRIBED that the channel receives
   * had earlier post-SUBSCRIBED events missed before it, the gap is observed as that event's
   * publish time − SUBSCRIBED (an upper bound, tight when the runner publishes a readiness train
   * right after subscribing); with nothing missed it is observed as 0 — no gap seen.
   */
  private noteReadiness(channel: Channel, event: LedgerEvent): void {
    if (channel.readinessMeasured || channel.subscribedAt === undefined) return;
    if (event.publishedAt < channel.subscribedAt) return;
    channel.readinessMeasured = true;
    const key = tripleKey(channel.subscriberId, channel.path);
    let missed = 0;
    for (const other of this.events.values()) {
      if (other.publishedAt < channel.subscribedAt || other.publishedAt >= event.publishedAt) continue;
      const triple = other.triples.get(key);
      if (triple && triple.firstSeenAt === undefined) missed += 1;
    }
    channel.readinessMissed = missed;
    if (channel.path === 'polling') return;
    const gapMs = missed > 0 ? event.publishedAt - channel.subscribedAt : 0;
    this.metrics?.readinessGap.observe(this.labels(channel.path), Math.max(0, gapMs) / 1000);
  }

  /** Readiness results per channel: missed events before the first received one. */
  readiness(path: DeliveryPath): { measured: number; withMissedEvents: number; missedEvents: number } {
    let measured = 0;
    let withMissedEvents = 0;
    let missedEvents = 0;
    for (const channel of this.channels.values()) {
      if (channel.path !== path) continue;
      if (channel.readinessMeasured) measured += 1;
      if (channel.readinessMissed > 0) withMissedEvents += 1;
      missedEvents += channel.readinessMissed;
    }
    return { measured, withMissedEvents, missedEvents };
  }

  private clearZombie(channel: Channel): void {
    if (!channel.zombie) return;
    channel.zombie = false;
    channel.consecutiveMissed = 0;
    this.metrics?.zombieSubscribers.dec(this.labels(channel.path));
  }

  private gapOverlaps(channel: Channel, start: number, end: number): boolean {
    return channel.gaps.some((gap) => gap.start < end && (gap.end === undefined || gap.end > start));
  }

  /** Drop closed gaps no pending event can overlap any more. */
  private pruneGaps(_justFinalizedEnd: number): void {
    let oldestPending = Infinity;
    for (const event of this.events.values()) {
      if (!event.finalized) oldestPending = Math.min(oldestPending, event.publishedAt);
    }
    for (const channel of this.channels.values()) {
      if (channel.gaps.length === 0) continue;
      channel.gaps = channel.gaps.filter((gap) => gap.end === undefined || gap.end > oldestPending);
    }
  }

  private record(
    event: LedgerEvent,
    triple: Triple,
    outcome: Outcome,
    latencyMs: number | undefined,
    inGap = triple.inGapAtPublish,
  ): void {
    if (triple.outcome === undefined) event.undecided -= 1;
    triple.outcome = outcome;
    const path = triple.channel.path;
    const totals = this.pathTotals(path);
    totals[outcome] += 1;
    this.metrics?.deliveryOutcomes.inc({ ...this.labels(path), outcome });
    const record: OutcomeRecord = {
      env: this.env,
      probe: this.probe,
      path,
      eventId: event.eventId,
      subscriberId: triple.channel.subscriberId,
      outcome,
      inGap,
      trusted: triple.trusted,
    };
    if (latencyMs !== undefined) record.latencyMs = latencyMs;
    const kind = this.subscribers.get(triple.channel.subscriberId)?.kind;
    if (kind !== undefined) record.kind = kind;
    for (const listener of this.listeners) listener(record);
  }

  private summarize(event: LedgerEvent): EventSummary {
    const latencyMs: EventSummary['latencyMs'] = {};
    const dropped = new Set<DeliveryPath>();
    for (const triple of event.triples.values()) {
      if (triple.outcome === 'dropped') dropped.add(triple.channel.path);
    }
    for (const [path, list] of event.latencies) {
      if (list.length > 0) latencyMs[path] = Math.max(...list);
    }
    for (const path of dropped) latencyMs[path] = 'dropped';
    return {
      eventId: event.eventId,
      publishedWallAt: event.publishedWallAt,
      finalized: event.finalized,
      latencyMs,
    };
  }

  private pushLatency(path: DeliveryPath, latencyMs: number): void {
    const list = this.recentLatencies.get(path) ?? [];
    list.push(latencyMs);
    if (list.length > 2000) list.splice(0, list.length - 2000);
    this.recentLatencies.set(path, list);
  }

  private pathTotals(path: DeliveryPath): PathTotals {
    let totals = this.totals.get(path);
    if (!totals) {
      totals = emptyTotals();
      this.totals.set(path, totals);
    }
    return totals;
  }

  private labels(path: DeliveryPath): { env: string; probe: string; path: DeliveryPath } {
    return { env: this.env, probe: this.probe, path };
  }
}
