/**
 * Shards: one slice of a load, `i/N`. Subscribers are split across shards (the first `total % N`
 * shards take one more), and exactly one shard — index 0 — publishes; the others learn each
 * publish from its event feed (workers/event-feed.ts). So N shards together hold the same
 * subscribers and see the same events as one process: published × subscribers × paths triples.
 */
import type { EventLedger, PublisherFactory } from '../probe/index.js';
import { CanaryError } from '../shared/index.js';

export interface Shard {
  index: number;
  count: number;
}

export const SINGLE_SHARD: Shard = { index: 0, count: 1 };

/** Parses `--shard i/N` (0 ≤ i < N). */
export function parseShard(text: string): Shard {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = match ? Number(match[1]) : NaN;
  const count = match ? Number(match[2]) : NaN;
  if (!match || count < 1 || index >= count || count > 10_000) {
    throw new CanaryError('CLI_USAGE', `--shard ${text}: not a shard of the form i/N with 0 ≤ i < N`, {
      hint: 'write the index and the shard count, e.g. --shard 0/3 (on Kubernetes: --shard $(JOB_COMPLETION_INDEX)/3)',
    });
  }
  return { index, count };
}

/** This shard's part of `total` subscribers; the parts of all shards add up to `total`. */
export function shareOf(total: number, shard: Shard): number {
  const whole = Math.max(0, Math.floor(total));
  const base = Math.floor(whole / shard.count);
  return base + (shard.index < whole % shard.count ? 1 : 0);
}

/** The shard that publishes every event. */
export function publishesEvents(shard: Shard): boolean {
  return shard.index === 0;
}

export function shardLabel(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}

/**
 * What a process running one shard of a load needs besides its index: the publishing shard
 * announces its events, the others follow them into their own ledgers and wait for the end of
 * publishing before they drain.
 */
export interface ShardRole extends Shard {
  /** The publishing shard's publisher (it announces every event on the feed). */
  publisher?: PublisherFactory;
  /** Followers: feed the publishing shard's events into this ledger; returns a detach. */
  follow?: (ledger: EventLedger) => () => void;
  /** Followers: resolves (never rejects) once the publishing shard is done or gave up. */
  beforeDrain?: () => Promise<void>;
}
