/**
 * A live environment the probes can talk to: URLs, keys (as Secrets), its synthetic mechanics
 * with self-renewing tokens, channel names, and a close(). For `local` environments it starts an
 * embedded target and signs the mechanics in through the target's Auth, as against a real project;
 * the probe area may not import the target, so the caller (the CLI) hands in `startLocalTarget` —
 * in practice `startTarget` from src/local-target, which satisfies LocalTargetHandle as it is.
 */
import path from 'node:path';
import {
  Secret,
  resolveEnvironmentSecrets,
  type EnvironmentConfig,
  type EnvironmentWithSecrets,
  type RefreshConfig,
} from '../config/index.js';
import {
  AuthApi,
  MechanicPool,
  claimsOf,
  type MechanicCredentials,
  type MechanicSession,
} from '../auth/index.js';
import type { CanaryMetrics } from '../metrics/index.js';
import { errorChainText, isTlsFailure, ProjectTransport, TLS_TRUST_HINT, TlsTrust } from '../net/index.js';
import { CanaryError, silentLogger, type Logger } from '../shared/index.js';

/** What the probe needs from a started local target. */
export interface LocalTargetHandle {
  readonly url: string;
  /** The keys the target accepts for the anon and service roles (legacy JWTs, or the new keys). */
  readonly anonKey: string;
  readonly serviceRoleKey: string;
  /** The new API keys, when the target issues them. */
  readonly publishableKey?: string;
  readonly secretKey?: string;
  /** Set when the target serves https/wss: the CA its certificate chains to. */
  readonly tls?: { readonly caPem: string; readonly caFile: string } | undefined;
  createMechanic(options?: {
    name?: string;
  }): Promise<{ id: string; token: string; email?: string; password?: string }>;
  stop(): Promise<void>;
}

/** The subset of startTarget()'s options the environment config sets. */
export interface LocalTargetRequest {
  limits?: Record<string, number | undefined>;
  // Validated against the target's fault schema when the config was loaded.
  faults?: Record<string, unknown>;
  faultSeed?: number;
  broadcastChannel?: string;
  realtime?: { privateOnly?: boolean; assignmentTopic?: 'per_mechanic' | 'shared' };
  jwtMode?: 'legacy' | 'asymmetric' | 'both';
  accessTokenTtlSeconds?: number;
  /** Serve https:// and wss:// (a per-run CA). */
  tls?: boolean;
  logger?: Logger;
}

export type StartLocalTarget = (request: LocalTargetRequest) => Promise<LocalTargetHandle>;

/** A synthetic mechanic: its user id and the session that keeps its access token valid. */
export interface MechanicIdentity {
  readonly id: string;
  readonly session: MechanicSession;
}

export interface ResolvedEnvironment {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly config: EnvironmentConfig;
  readonly kind: 'local' | 'remote';
  readonly supabaseUrl: string;
  /**
   * How every connection to the project is made: trusted CAs, one shared TLS context, session
   * resumption, the fetch of the publisher, pollers and Auth. Closed by close().
   */
  readonly transport: ProjectTransport;
  /** The extra CAs (PEM) behind `transport`, so worker processes can build the same trust. */
  readonly tlsCaPems: readonly string[];
  /** The client key: publishable (sb_publishable_…) or the legacy anon JWT. */
  readonly anonKey: Secret;
  /** The server key: secret (sb_secret_…) or the legacy service_role JWT. */
  readonly serviceRoleKey: Secret | undefined;
  readonly keyKinds: { client: 'publishable' | 'anon'; server: 'secret' | 'service_role' | undefined };
  readonly waiverUrl: string | undefined;
  readonly waiverHeaders: Record<string, Secret>;
  readonly queueUrl: string | undefined;
  readonly schema: string;
  readonly table: string;
  readonly sessionsTable: string;
  readonly changesChannel: string;
  readonly broadcastChannel: string;
  readonly broadcastEvent: string;
  /** The db_broadcast path's topic template, event and replay choice. */
  readonly dbBroadcast: { topic: string; event: string; replay: boolean };
  readonly connectionLimit: number;
  readonly loadRateCap: number;
  /** Mechanics subscribers and pollers use, round-robin. */
  readonly mechanics: readonly MechanicIdentity[];
  /** Their sessions: token state, auth metrics, supabase-js sign-ins. */
  readonly mechanicPool: MechanicPool;
  /** Creates one more mechanic (local targets), so ramps can give each subscriber its own. */
  readonly addMechanic?: () => Promise<MechanicIdentity>;
  /** The started local target, for tests and fault control; undefined for remote environments. */
  readonly localTarget: LocalTargetHandle | undefined;
  close(): Promise<void>;
}

export interface ResolveEnvironmentOptions {
  /** Required for local environments. */
  startLocalTarget?: StartLocalTarget;
  /** Where env-var references are looked up (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** For error messages: the file the environment came from. */
  file?: string;
  logger?: Logger;
  /** Where the auth metrics go (sign-ins, refreshes, token expiry). */
  metrics?: CanaryMetrics;
  /** Mechanics to create on a local target when the config does not say (default 4). */
  defaultLocalMechanics?: number;
}

function refreshTiming(
  refresh: RefreshConfig | undefined,
): { marginMs: number; jitterMs: number } | undefined {
  return refresh ? { marginMs: refresh.margin, jitterMs: refresh.jitter } : undefined;
}

/**
 * Turns a validated environment config into a live environment. Throws ENV_VAR_MISSING for
 * missing secrets, AUTH_FAILED when a mechanic cannot sign in, and TARGET_START_FAILED when a
 * local target cannot start.
 */
export async function resolveEnvironment(
  config: EnvironmentConfig | EnvironmentWithSecrets,
  options: ResolveEnvironmentOptions = {},
): Promise<ResolvedEnvironment> {
  const withSecrets =
    'secrets' in config
      ? config
      : resolveEnvironmentSecrets(config, { env: options.env, file: options.file });
  const env = withSecrets.config;
  const logger = (options.logger ?? silentLogger).child({ env: env.name });
  const common = {
    name: env.name,
    labels: env.labels,
    config: env,
    schema: env.schema,
    table: env.table,
    sessionsTable: env.sessionsTable,
    changesChannel: env.changesChannel,
    broadcastChannel: env.broadcastChannel,
    broadcastEvent: env.broadcastEvent,
    dbBroadcast: env.dbBroadcast,
    connectionLimit: env.connectionLimit,
    loadRateCap: env.loadRateCap,
  };
  const timing = refreshTiming(
    env.mechanics && 'refresh' in env.mechanics ? env.mechanics.refresh : undefined,
  );
  const transportFor = (localCaPem?: string) =>
    environmentTransport(env, { file: options.file, extraCaPems: localCaPem ? [localCaPem] : [] });

  if (env.local) {
    if (!options.startLocalTarget) {
      throw new CanaryError(
        'INTERNAL',
        `environment "${env.name}" is local but no target starter was given`,
        {
          hint: 'pass startLocalTarget (startTarget from src/local-target) to resolveEnvironment',
        },
      );
    }
    let target: LocalTargetHandle;
    try {
      target = await options.startLocalTarget({
        limits: env.local.limits,
        faults: env.local.faults,
        faultSeed: env.local.seed,
        broadcastChannel: env.broadcastChannel,
        ...(env.local.realtime ? { realtime: env.local.realtime } : {}),
        ...(env.local.tls ? { tls: true } : {}),
        ...(env.local.auth
          ? {
              jwtMode: env.local.auth.jwtMode,
              accessTokenTtlSeconds: Math.max(1, Math.round(env.local.auth.accessTokenTtl / 1000)),
            }
          : {}),
        logger,
      });
    } catch (error) {
      if (error instanceof CanaryError) throw error;
      throw new CanaryError(
        'TARGET_START_FAILED',
        `environment "${env.name}": the local target failed to start: ${(error as Error).message}`,
        {
          hint: 'check free disk space and ports; run with LOG_LEVEL=debug for the target log',
          cause: error,
        },
      );
    }
    const base = target.url.replace(/\/$/, '');
    // Prefer the new keys, as a current project would be probed.
    const clientKey = target.publishableKey ?? target.anonKey;
    let net: ReturnType<typeof transportFor>;
    try {
      net = transportFor(target.tls?.caPem);
    } catch (error) {
      await target.stop().catch(() => {});
      throw error;
    }
    const { transport } = net;
    const pool = new MechanicPool({
      env: env.name,
      auth: new AuthApi({ supabaseUrl: base, apiKey: clientKey, fetch: transport.fetch }),
      timing,
      metrics: options.metrics,
      logger,
    });
    const count =
      env.mechanics?.from === 'local' ? env.mechanics.count : (options.defaultLocalMechanics ?? 4);
    let created = 0;
    const addMechanic = async (): Promise<MechanicIdentity> => {
      created += 1;
      const mechanic = await target.createMechanic({ name: `canary-mechanic-${created}` });
      const source = `${env.name}:mechanic-${created}`;
      // Signed in through the target's Auth like a remote project's mechanic; a target without
      // Auth only hands out a token.
      const credentials: MechanicCredentials =
        mechanic.email !== undefined && mechanic.password !== undefined
          ? {
              kind: 'password',
              email: new Secret(mechanic.email, `${source}:email`),
              password: new Secret(mechanic.password, `${source}:password`),
            }
          : { kind: 'env', token: new Secret(mechanic.token, source) };
      const session = await pool.add(credentials);
      return { id: session.id || mechanic.id, session };
    };
    const mechanics: MechanicIdentity[] = [];
    try {
      for (let i = 0; i < count; i++) mechanics.push(await addMechanic());
    } catch (error) {
      pool.stop();
      await transport.close();
      await target.stop().catch(() => {});
      if (error instanceof CanaryError && error.code === 'AUTH_FAILED') throw error;
      throw new CanaryError(
        'TARGET_START_FAILED',
        `environment "${env.name}": creating mechanics failed: ${(error as Error).message}`,
        { hint: 'the local target started but could not create or sign in its mechanics', cause: error },
      );
    }
    let closed = false;
    return {
      ...common,
      kind: 'local',
      supabaseUrl: base,
      ...net,
      anonKey: new Secret(clientKey, `${env.name}:${target.publishableKey ? 'publishable' : 'anon'}`),
      serviceRoleKey: new Secret(
        target.secretKey ?? target.serviceRoleKey,
        `${env.name}:${target.secretKey ? 'secret' : 'service_role'}`,
      ),
      keyKinds: {
        client: target.publishableKey ? 'publishable' : 'anon',
        server: target.secretKey ? 'secret' : 'service_role',
      },
      waiverUrl: `${base}/api/waiver`,
      waiverHeaders: {},
      queueUrl: `${base}/api/mechanic/queue`,
      mechanics,
      mechanicPool: pool,
      addMechanic,
      localTarget: target,
      close: async () => {
        if (closed) return;
        closed = true;
        pool.stop();
        await transport.close();
        await target.stop();
      },
    };
  }

  const remote = env.remote;
  if (!remote) throw new CanaryError('INTERNAL', `environment "${env.name}" is neither local nor remote`);
  const secrets = withSecrets.secrets;
  if (!secrets.anonKey) throw new CanaryError('INTERNAL', `environment "${env.name}" has no client key`);
  const supabaseUrl = remote.supabaseUrl.replace(/\/$/, '');
  const net = transportFor();
  const { transport } = net;
  const pool = new MechanicPool({
    env: env.name,
    auth: new AuthApi({ supabaseUrl, apiKey: secrets.anonKey.reveal(), fetch: transport.fetch }),
    timing,
    metrics: options.metrics,
    logger,
  });
  const credentials: MechanicCredentials[] = [];
  if (env.mechanics?.from === 'env') {
    for (const token of secrets.mechanicTokens) credentials.push({ kind: 'env', token });
  } else if (env.mechanics?.from === 'mint' && secrets.jwtSecret) {
    for (const userId of env.mechanics.userIds) {
      credentials.push({
        kind: 'mint',
        jwtSecret: secrets.jwtSecret,
        userId,
        lifetimeSeconds: env.mechanics.expiresInSeconds,
      });
    }
  } else if (env.mechanics?.from === 'password') {
    for (const account of secrets.mechanicAccounts) credentials.push({ kind: 'password', ...account });
  }
  const mechanics: MechanicIdentity[] = [];
  try {
    for (const credential of credentials) {
      if (credential.kind === 'env') assertUsableToken(credential.token, env.name, options.file);
      const session = await pool.add(credential);
      mechanics.push({ id: session.id || credential.kind, session });
    }
  } catch (error) {
    pool.stop();
    await transport.close();
    throw error;
  }
  return {
    ...common,
    kind: 'remote',
    supabaseUrl,
    ...net,
    anonKey: secrets.anonKey,
    serviceRoleKey: secrets.serviceRoleKey,
    keyKinds: { client: secrets.anonKeyKind ?? 'anon', server: secrets.serviceRoleKeyKind },
    waiverUrl: remote.waiverUrl,
    waiverHeaders: secrets.waiverHeaders,
    queueUrl: remote.queueUrl,
    mechanics,
    mechanicPool: pool,
    localTarget: undefined,
    close: async () => {
      pool.stop();
      await transport.close();
    },
  };
}

/**
 * The transport an environment's connections go through: the system roots plus its `tls.caFile`
 * (relative to the file naming it) and any extra CA (a local target's), with its resumption choice.
 */
export function environmentTransport(
  env: Pick<EnvironmentConfig, 'name' | 'tls'>,
  options: { file?: string; extraCaPems?: readonly string[] } = {},
): { transport: ProjectTransport; tlsCaPems: string[] } {
  const base = options.file ? path.dirname(options.file) : process.cwd();
  const trust = TlsTrust.of({
    caFiles: (env.tls.caFile ?? []).map((file) => path.resolve(base, file)),
    caPems: options.extraCaPems ?? [],
    source: `${options.file ?? `environment "${env.name}"`}: tls.caFile`,
  });
  return {
    transport: new ProjectTransport({ trust, resumeSessions: env.tls.resumeSessions }),
    tlsCaPems: [...trust.extraCaPems],
  };
}

/** A pre-issued token that has already expired cannot measure anything: stop before starting. */
function assertUsableToken(token: Secret, envName: string, file: string | undefined): void {
  const exp = claimsOf(token.reveal()).exp;
  if (typeof exp !== 'number') return;
  const ago = Math.floor(Date.now() / 1000) - exp;
  if (ago >= 0) {
    throw new CanaryError(
      'AUTH_FAILED',
      `environment "${envName}": the mechanic token in ${token.source} expired ${formatAgo(ago)} ago`,
      {
        hint: `issue a new token, or switch to \`mechanics.from: password\`${file ? ` in ${file}` : ''} so tokens renew themselves`,
      },
    );
  }
}

function formatAgo(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

/**
 * A remote environment answers and accepts its keys: one PostgREST read of the assignments table
 * with the anon key (and one with the service-role key when configured). RLS may hide every row;
 * only the status matters. Network failure or 5xx → TARGET_UNREACHABLE (retried); 401/403 → the
 * key named by the env var is wrong for this project.
 */
export async function checkReachable(
  env: ResolvedEnvironment,
  options: { file?: string; timeoutMs?: number } = {},
): Promise<void> {
  const where = options.file ? ` (named in ${options.file})` : '';
  const keys: [Secret, string][] = [[env.anonKey, env.config.remote?.anonKeyEnv ?? 'the anon key variable']];
  if (env.serviceRoleKey)
    keys.push([env.serviceRoleKey, env.config.remote?.serviceRoleKeyEnv ?? 'the service-role variable']);
  const url = `${env.supabaseUrl}/rest/v1/${encodeURIComponent(env.table)}?select=id&limit=1`;
  for (const [key, variable] of keys) {
    let status: number;
    try {
      const response = await env.transport.fetch(url, {
        headers: {
          apikey: key.reveal(),
          authorization: `Bearer ${key.reveal()}`,
          'accept-profile': env.schema,
        },
        signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
      });
      status = response.status;
      await response.body?.cancel().catch(() => {});
    } catch (error) {
      const tls = isTlsFailure(error);
      throw new CanaryError(
        'TARGET_UNREACHABLE',
        `environment "${env.name}": ${tls ? 'TLS with' : 'cannot reach'} ${env.supabaseUrl}${tls ? ' failed' : ''}: ${errorChainText(error)}`,
        {
          hint: tls
            ? `${TLS_TRUST_HINT}${where}`
            : `check remote.supabaseUrl${where} and the network (DNS, proxy, firewall); the canary retries on its own`,
          cause: error,
        },
      );
    }
    if (status === 401 || status === 403) {
      throw new CanaryError(
        'TARGET_UNREACHABLE',
        `environment "${env.name}": ${env.supabaseUrl} rejected the key in ${variable} (HTTP ${status})`,
        { hint: `set ${variable} to this project's key (Project Settings → API)${where}` },
      );
    }
    if (status >= 500) {
      throw new CanaryError(
        'TARGET_UNREACHABLE',
        `environment "${env.name}": ${env.supabaseUrl} answered HTTP ${status}`,
        { hint: 'the project may be paused or down; the canary retries on its own' },
      );
    }
  }
}
