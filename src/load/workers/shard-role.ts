/**
 * Builds the ShardRole a shard process runs with: the publishing shard wraps its publisher so
 * every event is announced on the feed; a following shard feeds the announcements into its
 * ledger, stops its own loop when publishing ends, and only then drains.
 */
import { publishesEvents, type Shard, type ShardRole } from '../shard.js';
import { announcingPublisher, FeedFollower, type FeedMessage } from './event-feed.js';
import type { Scenario } from '../scenario-schema.js';
import type { ProbeSpec } from '../../config/index.js';
import type { DeliveryPath } from '../../metrics/index.js';
import { sleep } from '../../shared/index.js';

export interface ShardSetup {
  role: ShardRole;
  /** The scenario this shard runs (followers leave polling to the publishing shard). */
  scenario: Scenario;
  /** Followers: the feed receiver. */
  follower?: FeedFollower;
  /** Aborts when the publishing shard has ended (followers), combined with the caller's signal. */
  signal: AbortSignal | undefined;
}

export function setUpShard(options: {
  shard: Shard;
  scenario: Scenario;
  probe: ProbeSpec;
  /** Publishing shard: where its announcements go. */
  emit: (message: FeedMessage) => void;
  signal?: AbortSignal;
  /** Followers wait at most this long for the end of publishing before draining anyway. */
  waitForEndMs: number;
}): ShardSetup {
  const { shard } = options;
  if (publishesEvents(shard)) {
    return {
      role: { ...shard, publisher: announcingPublisher(options.emit) },
      scenario: options.scenario,
      signal: options.signal,
    };
  }
  const follower = new FeedFollower();
  const ended = new AbortController();
  void follower.ended.then(() => ended.abort());
  const paths: DeliveryPath[] = (options.scenario.paths ?? options.probe.paths).filter(
    (path) => path !== 'polling',
  );
  return {
    role: {
      ...shard,
      follow: (ledger) => follower.attach(ledger),
      beforeDrain: async () => {
        // Cancel the fallback timer once publishing ended, or it would hold the process open.
        const done = new AbortController();
        const signal = options.signal ? AbortSignal.any([options.signal, done.signal]) : done.signal;
        await Promise.race([follower.ended, sleep(options.waitForEndMs, signal)]);
        done.abort();
      },
    },
    // The queue is polled per mechanic; one shard polling keeps polling triples what one process has.
    scenario: { ...options.scenario, paths },
    follower,
    signal: options.signal ? AbortSignal.any([options.signal, ended.signal]) : ended.signal,
  };
}
