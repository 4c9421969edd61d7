/**
 * What the parent and its worker processes say to each other over the IPC channel, and how a
 * live environment crosses it: URLs and revealed keys go over the private IPC pipe (never argv or
 * the environment, which other users can read) and become Secrets again on the other side.
 */
import { Secret, type ProbeSpec } from '../../config/index.js';
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
  mechanics: { id: string; token: string }[];
}

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
    mechanics: env.mechanics.map((mechanic) => ({ id: mechanic.id, token: mechanic.token.reveal() })),
  };
}

/** The worker's view of the parent's environment; closing it is the parent's job. */
export function receiveEnvironment(env: TransferredEnvironment): ResolvedEnvironment {
  const source = `the parent process (${env.name})`;
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
    mechanics: env.mechanics.map((mechanic) => ({
      id: mechanic.id,
      token: new Secret(mechanic.token, source),
    })),
    localTarget: undefined,
    close: async () => {},
  };
}
