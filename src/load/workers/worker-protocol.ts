/**
 * What the parent and its worker processes say to each other over the IPC channel, and how a
 * live environment crosses it: URLs and revealed keys go over the private IPC pipe (never argv or
 * the environment, which other users can read) and become Secrets again on the other side.
 */
import { AuthApi, MechanicPool, type MechanicCredentials } from '../../auth/index.js';
import { Secret, type ProbeSpec } from '../../config/index.js';
import type { CanaryMetrics } from '../../metrics/index.js';
import type { ResolvedEnvironment } from '../../probe/index.js';
import type { LoadProgress, LoadRunResult } from '../run-scenario.js';
import type { Scenario } from '../scenario-schema.js';
import type { Shard } from '../shard.js';
import type { FeedMessage } from './event-feed.js';
import type { MetricsJson } from './merge.js';

export interface TransferredEnvironment {
  name: string;
  labels: Record<string, string>;
  config: ResolvedEnvironment['config'];
  kind: 'local' | 'remote';
  supabaseUrl: string;
  anonKey: string;
  serviceRoleKey: string | undefined;
  waiverUrl: string | undefined;
  waiverHeaders: Record<string, string>;
  queueUrl: string | undefined;
  schema: string;
  table: string;
  sessionsTable: string;
  changesChannel: string;
  broadcastChannel: string;
  broadcastEvent: string;
  connectionLimit: number;
  loadRateCap: number;
  keyKinds: ResolvedEnvironment['keyKinds'];
  /** Each mechanic's credentials, so the worker keeps its own sessions (tokens renew there too). */
  mechanics: { id: string; credentials: TransferredCredentials }[];
}

export type TransferredCredentials =
  | { kind: 'password'; email: string; password: string }
  | { kind: 'mint'; jwtSecret: string; userId: string; lifetimeSeconds: number }
  | { kind: 'env'; token: string };

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
  const headers: Record<string, string> = {};
  for (const [name, secret] of Object.entries(env.waiverHeaders)) headers[name] = secret.reveal();
  return {
    name: env.name,
    labels: { ...env.labels },
    config: env.config,
    kind: env.kind,
    supabaseUrl: env.supabaseUrl,
    anonKey: env.anonKey.reveal(),
    serviceRoleKey: env.serviceRoleKey?.reveal(),
    waiverUrl: env.waiverUrl,
    waiverHeaders: headers,
    queueUrl: env.queueUrl,
    schema: env.schema,
    table: env.table,
    sessionsTable: env.sessionsTable,
    changesChannel: env.changesChannel,
    broadcastChannel: env.broadcastChannel,
    broadcastEvent: env.broadcastEvent,
    connectionLimit: env.connectionLimit,
    loadRateCap: env.loadRateCap,
    keyKinds: env.keyKinds,
    mechanics: env.mechanics.map((mechanic) => ({
      id: mechanic.id,
      credentials: transferCredentials(mechanic.session.credentials),
    })),
  };
}

function transferCredentials(credentials: MechanicCredentials): TransferredCredentials {
  switch (credentials.kind) {
    case 'password':
      return { kind: 'password', email: credentials.email.reveal(), password: credentials.password.reveal() };
    case 'mint':
      return {
        kind: 'mint',
        jwtSecret: credentials.jwtSecret.reveal(),
        userId: credentials.userId,
        lifetimeSeconds: credentials.lifetimeSeconds,
      };
    case 'env':
      return { kind: 'env', token: credentials.token.reveal() };
  }
}

function receiveCredentials(credentials: TransferredCredentials, source: string): MechanicCredentials {
  switch (credentials.kind) {
    case 'password':
      return {
        kind: 'password',
        email: new Secret(credentials.email, source),
        password: new Secret(credentials.password, source),
      };
    case 'mint':
      return { ...credentials, jwtSecret: new Secret(credentials.jwtSecret, source) };
    case 'env':
      return { kind: 'env', token: new Secret(credentials.token, source) };
  }
}

/**
 * The worker's view of the parent's environment: the same mechanics, each with its own session in
 * this process (signed in again, renewed here). Closing the target is the parent's job.
 */
export async function receiveEnvironment(
  env: TransferredEnvironment,
  options: { metrics?: CanaryMetrics } = {},
): Promise<ResolvedEnvironment> {
  const source = `the parent process (${env.name})`;
  const timing =
    env.config.mechanics && 'refresh' in env.config.mechanics
      ? { marginMs: env.config.mechanics.refresh.margin, jitterMs: env.config.mechanics.refresh.jitter }
      : undefined;
  const pool = new MechanicPool({
    env: env.name,
    auth: new AuthApi({ supabaseUrl: env.supabaseUrl, apiKey: env.anonKey }),
    timing,
    metrics: options.metrics,
  });
  const mechanics = [];
  try {
    for (const mechanic of env.mechanics) {
      const session = await pool.add(receiveCredentials(mechanic.credentials, source));
      mechanics.push({ id: mechanic.id, session });
    }
  } catch (error) {
    pool.stop();
    throw error;
  }
  const headers: Record<string, Secret> = {};
  for (const [name, value] of Object.entries(env.waiverHeaders)) headers[name] = new Secret(value, source);
  return {
    name: env.name,
    labels: env.labels,
    config: env.config,
    kind: env.kind,
    supabaseUrl: env.supabaseUrl,
    anonKey: new Secret(env.anonKey, source),
    serviceRoleKey: env.serviceRoleKey === undefined ? undefined : new Secret(env.serviceRoleKey, source),
    waiverUrl: env.waiverUrl,
    waiverHeaders: headers,
    queueUrl: env.queueUrl,
    schema: env.schema,
    table: env.table,
    sessionsTable: env.sessionsTable,
    changesChannel: env.changesChannel,
    broadcastChannel: env.broadcastChannel,
    broadcastEvent: env.broadcastEvent,
    connectionLimit: env.connectionLimit,
    loadRateCap: env.loadRateCap,
    keyKinds: env.keyKinds,
    mechanics,
    mechanicPool: pool,
    localTarget: undefined,
    close: async () => {
      pool.stop();
    },
  };
}
