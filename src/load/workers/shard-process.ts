/**
 * One shard of a load in its own process, possibly on its own machine (`canary load --shard i/N`,
 * a Kubernetes Indexed Job): shard 0 serves the event feed over HTTP, waits until the other
 * N−1 shards follow it, then runs and publishes; the others follow the feed and run their share
 * of subscribers. Each shard keeps its own registry (labelled with its shard), and Prometheus sums
 * them.
 */
import type { ProbeSpec } from '../../config/index.js';
import type { CanaryMetrics } from '../../metrics/index.js';
import type { ResolvedEnvironment } from '../../probe/index.js';
import { CanaryError, silentLogger, type Logger } from '../../shared/index.js';
import { runScenario, type LoadProgress, type LoadRunResult } from '../run-scenario.js';
import { runBoundMs, type Scenario } from '../scenario-schema.js';
import { publishesEvents, shardLabel, type Shard } from '../shard.js';
import { followFeed, serveFeed, type FeedServer } from './feed-http.js';
import { setUpShard } from './shard-role.js';

export const DEFAULT_FEED_PORT = 9465;

export interface ShardRunOptions {
  scenario: Scenario;
  env: ResolvedEnvironment;
  probe: ProbeSpec;
  metrics: CanaryMetrics;
  shard: Shard;
  /** Followers: base URL of shard 0's feed (http://host:9465). */
  feedUrl?: string;
  /** Shard 0: where to serve the feed. */
  feedHost?: string;
  feedPort?: number;
  /** Shard 0 waits this long for the other shards to follow before it gives up. */
  followersTimeoutMs?: number;
  allowRemote?: boolean;
  signal?: AbortSignal;
  logger?: Logger;
  onProgress?: (progress: LoadProgress) => void;
  /** Shard 0: called with the feed's URL once it serves. */
  onFeed?: (url: string) => void;
}

export interface ShardRun {
  result: LoadRunResult;
  /** Events published (shard 0) or followed from the feed (the others). */
  feedEvents: number;
  /** Stops serving the feed (shard 0); call after the run's metrics were scraped. */
  close(): Promise<void>;
}

export async function runShard(options: ShardRunOptions): Promise<ShardRun> {
  const { shard, scenario } = options;
  const logger = options.logger ?? silentLogger;
  if (scenario.executor === 'connection-limit' && shard.count > 1) {
    throw new CanaryError('CLI_USAGE', `scenario "${scenario.name}" (connection-limit) cannot be sharded`, {
      hint: 'run connection-limit discovery as one process',
    });
  }
  const deadline = scenario.deadline ?? options.probe.deadline;
  const waitForEndMs = runBoundMs(scenario, deadline) + 60_000;
  let feed: FeedServer | undefined;
  if (publishesEvents(shard)) {
    feed = await serveFeed({
      host: options.feedHost ?? '0.0.0.0',
      port: options.feedPort ?? DEFAULT_FEED_PORT,
    });
    options.onFeed?.(feed.url);
    const followers = shard.count - 1;
    if (followers > 0) {
      const timeoutMs = options.followersTimeoutMs ?? 300_000;
      const all = await feed.waitForFollowers(followers, timeoutMs, options.signal);
      if (!all && !options.signal?.aborted) {
        const present = feed.followers();
        await feed.close();
        throw new CanaryError(
          'TARGET_UNREACHABLE',
          `shard ${shardLabel(shard)}: only ${present} of ${followers} other shards followed the event feed within ${Math.round(timeoutMs / 1000)} s`,
          {
            hint: 'start every shard with the same N and --shard-feed pointing at shard 0 (the Job manifest does)',
          },
        );
      }
    }
  } else if (!options.feedUrl) {
    throw new CanaryError(
      'CLI_USAGE',
      `--shard ${shardLabel(shard)}: a following shard needs --shard-feed <url>`,
      {
        hint: 'point it at shard 0, e.g. --shard-feed http://canary-load-0.canary-shards:9465',
      },
    );
  }
  const emitTo = feed;
  const setup = setUpShard({
    shard,
    scenario,
    probe: options.probe,
    emit: (message) => emitTo?.emit(message),
    ...(options.signal ? { signal: options.signal } : {}),
    waitForEndMs,
  });
  let feedFailure: string | undefined;
  const following =
    setup.follower && options.feedUrl
      ? followFeed(options.feedUrl, (message) => setup.follower?.receive(message), {
          ...(options.signal ? { signal: options.signal } : {}),
          giveUpAfterMs: waitForEndMs,
        }).catch((error: unknown) => {
          feedFailure = error instanceof Error ? error.message : String(error);
          logger.error('lost the event feed', { error: feedFailure });
          setup.follower?.receive({ type: 'end' });
          return 0;
        })
      : undefined;
  const result = await runScenario({
    scenario: setup.scenario,
    env: options.env,
    probe: options.probe,
    metrics: options.metrics,
    shard: setup.role,
    logger,
    ...(options.allowRemote !== undefined ? { allowRemote: options.allowRemote } : {}),
    ...(setup.signal ? { signal: setup.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  feed?.emit({ type: 'end' });
  await following;
  if (feedFailure && !result.failure) {
    result.failure = {
      code: 'TARGET_UNREACHABLE',
      message: feedFailure,
      hint: 'keep shard 0 reachable from the other shards (the headless Service) for the whole run',
    };
  }
  return {
    result,
    feedEvents: setup.follower ? setup.follower.events : result.published,
    close: async () => {
      await feed?.close();
    },
  };
}
