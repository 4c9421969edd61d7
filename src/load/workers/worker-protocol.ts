/**
 * What the parent and its worker processes say to each other over the IPC channel, and how a
 * live environment crosses it: its plain data with every Secret revealed (config/secret-transfer)
 * goes over the private IPC pipe (never argv or the environment, which other users can read) and
 * becomes Secrets again on the other side. Mechanics cross as their credentials: a worker keeps its
 * own sessions (it signs in, or mints, and renews there), since a token source cannot be shared
 * across processes.
 */
import { AuthApi, MechanicPool, type MechanicCredentials } from '../../auth/index.js';
import { revealSecrets, reviveSecrets, type ProbeSpec, type Revealed } from '../../config/index.js';
import type { CanaryMetrics } from '../../metrics/index.js';
import { ProjectTransport, TlsTrust } from '../../net/index.js';
import type { MechanicIdentity, ResolvedEnvironment } from '../../probe/index.js';
import type { LoadProgress, LoadRunResult } from '../run-scenario.js';
import type { Scenario } from '../scenario-schema.js';
import type { Shard } from '../shard.js';
import type { FeedMessage } from './event-feed.js';
import type { MetricsJson } from './merge.js';

/** What stays with the parent: the started target, the means to create or close things, the live sessions. */
type LocalOnly = 'localTarget' | 'close' | 'addMechanic' | 'mechanics' | 'mechanicPool' | 'transport';

type EnvironmentData = Omit<ResolvedEnvironment, LocalOnly> & {
  mechanics: { id: string; credentials: MechanicCredentials }[];
};

/** What crosses of a live environment: its data with Secrets revealed; no target handle or close(). */
export type TransferredEnvironment = Revealed<EnvironmentData>;

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
  const {
    localTarget: _target,
    close: _close,
    addMechanic: _add,
    mechanicPool: _pool,
    transport: _transport,
    mechanics,
    ...data
  } = env;
  return revealSecrets<EnvironmentData>({
    ...data,
    mechanics: mechanics.map((mechanic) => ({ id: mechanic.id, credentials: mechanic.session.credentials })),
  });
}

/**
 * The worker's view of the parent's environment: the same mechanics, each with its own session in
 * this process (signed in again, renewed here). Closing the target is the parent's job.
 */
export async function receiveEnvironment(
  env: TransferredEnvironment,
  options: { metrics?: CanaryMetrics } = {},
): Promise<ResolvedEnvironment> {
  const data = reviveSecrets<EnvironmentData>(env) as EnvironmentData;
  const refresh =
    data.config.mechanics && 'refresh' in data.config.mechanics ? data.config.mechanics.refresh : undefined;
  // The same trust as the parent's (its CAs cross as PEM text); this process's own TLS context.
  const transport = new ProjectTransport({
    trust: TlsTrust.of({ caPems: data.tlsCaPems }),
    resumeSessions: data.config.tls.resumeSessions,
  });
  const pool = new MechanicPool({
    env: data.name,
    auth: new AuthApi({
      supabaseUrl: data.supabaseUrl,
      apiKey: data.anonKey.reveal(),
      fetch: transport.fetch,
    }),
    ...(refresh ? { timing: { marginMs: refresh.margin, jitterMs: refresh.jitter } } : {}),
    ...(options.metrics ? { metrics: options.metrics } : {}),
  });
  const mechanics: MechanicIdentity[] = [];
  try {
    for (const mechanic of data.mechanics) {
      mechanics.push({ id: mechanic.id, session: await pool.add(mechanic.credentials) });
    }
  } catch (error) {
    pool.stop();
    await transport.close();
    throw error;
  }
  return {
    ...data,
    transport,
    mechanics,
    mechanicPool: pool,
    localTarget: undefined,
    close: async () => {
      pool.stop();
      await transport.close();
    },
  };
}
