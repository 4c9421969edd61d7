/**
 * The event feed: how the one publishing shard tells the others what it published, so every
 * shard's ledger holds every event and a subscriber's latency is still "receive − publish".
 *
 * Timestamps cross processes as wall-clock-anchored high-resolution times
 * (`performance.timeOrigin + performance.now()`): processes on one host read the same system
 * clock, so a follower turns the value back into its own monotonic time by subtracting its own
 * `performance.timeOrigin`. Across machines (Kubernetes shards) the error is the hosts' clock skew
 * (NTP keeps it to about a millisecond); docs/scaling.md says so.
 */
import type { EventLedger, EventPublisher, PublisherFactory } from '../../probe/index.js';
import { defaultPublisherFactory } from '../../probe/index.js';

export type FeedMessage =
  | { type: 'published'; eventId: string; publishedAtWallMs: number }
  | { type: 'assigned'; eventId: string; assignmentId: string }
  | { type: 'failed'; eventId: string }
  /** The publisher is done: no more events will come. */
  | { type: 'end' };

/** Now, on the wall-clock-anchored high-resolution scale shared by processes on one host. */
export function wallAnchoredNow(): number {
  return performance.timeOrigin + performance.now();
}

/** A wall-anchored time on this process's monotonic clock (performance.now()). */
export function toLocalMonotonic(wallAnchoredMs: number): number {
  return wallAnchoredMs - performance.timeOrigin;
}

/**
 * Wraps the publisher of the publishing shard: each event is announced before its request goes
 * out (the runner registered it in its own ledger a few microseconds earlier), then its
 * assignment id or its failure.
 */
export function announcingPublisher(
  emit: (message: FeedMessage) => void,
  inner: PublisherFactory = defaultPublisherFactory,
): PublisherFactory {
  return async (env, probe, logger) => {
    const publisher: EventPublisher = await inner(env, probe, logger);
    return {
      async publish(event) {
        emit({ type: 'published', eventId: event.eventId, publishedAtWallMs: wallAnchoredNow() });
        try {
          const outcome = await publisher.publish(event);
          if (outcome.assignmentId !== undefined) {
            emit({ type: 'assigned', eventId: event.eventId, assignmentId: outcome.assignmentId });
          }
          return outcome;
        } catch (error) {
          emit({ type: 'failed', eventId: event.eventId });
          throw error;
        }
      },
      ...(publisher.cleanup ? { cleanup: (olderThanMs: number) => publisher.cleanup!(olderThanMs) } : {}),
      ...(publisher.close ? { close: () => publisher.close!() } : {}),
    };
  };
}

/**
 * The follower's side: applies feed messages to a ledger (attached once the runner exists) and
 * resolves `ended` when the publisher says it is done.
 */
export class FeedFollower {
  private ledger: EventLedger | undefined;
  private readonly backlog: Exclude<FeedMessage, { type: 'end' }>[] = [];
  private endedResolve: (() => void) | undefined;
  private hasEnded = false;
  readonly ended: Promise<void>;
  /** Events this follower registered. */
  events = 0;

  constructor() {
    this.ended = new Promise((resolve) => (this.endedResolve = resolve));
  }

  get isEnded(): boolean {
    return this.hasEnded;
  }

  receive(message: FeedMessage): void {
    if (message.type === 'end') {
      this.hasEnded = true;
      this.endedResolve?.();
      return;
    }
    if (this.ledger) this.apply(this.ledger, message);
    else this.backlog.push(message);
  }

  attach(ledger: EventLedger): () => void {
    this.ledger = ledger;
    for (const message of this.backlog.splice(0)) this.apply(ledger, message);
    return () => {
      if (this.ledger === ledger) this.ledger = undefined;
    };
  }

  private apply(ledger: EventLedger, message: Exclude<FeedMessage, { type: 'end' }>): void {
    switch (message.type) {
      case 'published':
        this.events += 1;
        ledger.publish(
          message.eventId,
          toLocalMonotonic(message.publishedAtWallMs),
          Math.round(message.publishedAtWallMs),
        );
        return;
      case 'assigned':
        ledger.setAssignmentId(message.eventId, message.assignmentId);
        return;
      case 'failed':
        ledger.publishFailed(message.eventId);
        return;
    }
  }
}

export function isFeedMessage(value: unknown): value is FeedMessage {
  if (typeof value !== 'object' || value === null) return false;
  const message = value as Record<string, unknown>;
  switch (message.type) {
    case 'end':
      return true;
    case 'failed':
      return typeof message.eventId === 'string';
    case 'assigned':
      return typeof message.eventId === 'string' && typeof message.assignmentId === 'string';
    case 'published':
      return typeof message.eventId === 'string' && Number.isFinite(message.publishedAtWallMs);
    default:
      return false;
  }
}
