/**
 * What the parent and its worker processes say to each other over the IPC channel, and how a
 * live environment crosses it: its plain data with every Secret revealed (config/secret-transfer)
 * goes over the private IPC pipe (never argv or the environment, which other users can read) and
 * becomes Secrets again on the other side.
 */
import { revealSecrets, reviveSecrets, type ProbeSpec, type Revealed } from '../../config/index.js';
import type { ResolvedEnvironment } from '../../probe/index.js';
import type { LoadProgress, LoadRunResult } from '../run-scenario.js';
import type { Scenario } from '../scenario-schema.js';
import type { Shard } from '../shard.js';
import type { FeedMessage } from './event-feed.js';
import type { MetricsJson } from './merge.js';

/** What crosses of a live environment: its data with Secrets revealed; no target handle or close(). */
export type TransferredEnvironment = Revealed<Omit<ResolvedEnvironment, LocalOnly>>;

/** What stays with the parent: the started target and the means to create or close things on it. */
type LocalOnly = 'localTarget' | 'close' | 'addMechanic';

export type ToWorker =
  | {
      type: 'init';
      shard: Shard;
      scenario: Scenario;
      probe: ProbeSpec;
      env: TransferredEnvironment;
      allowRemote: boolean;
      tickMs?: number;
    }
  | { type: 'go' }
  | { type: 'feed'; message: FeedMessage }
  | { type: 'abort' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'feed'; message: FeedMessage }
  | { type: 'progress'; progress: LoadProgress }
  | { type: 'result'; result: LoadRunResult; metrics: MetricsJson; feedEvents: number }
  | { type: 'error'; code: string; message: string; hint?: string };

export function transferEnvironment(env: ResolvedEnvironment): TransferredEnvironment {
  const { localTarget: _target, close: _close, addMechanic: _add, ...data } = env;
  return revealSecrets(data);
}

/** The worker's view of the parent's environment; closing it is the parent's job. */
export function receiveEnvironment(env: TransferredEnvironment): ResolvedEnvironment {
  const data = reviveSecrets<Omit<ResolvedEnvironment, LocalOnly>>(env) as Omit<
    ResolvedEnvironment,
    LocalOnly
  >;
  return { ...data, localTarget: undefined, close: async () => {} };
}
