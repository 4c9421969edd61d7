/**
 * A live environment the probes can talk to: URLs, keys (as Secrets), mechanic tokens, channel
 * names, and a close(). For `local` environments it starts an embedded target; the probe area may
 * not import the target, so the caller (the CLI) hands in `startLocalTarget` — in practice
 * `startTarget` from src/target, which satisfies LocalTargetHandle as it is.
 */
import { SignJWT } from 'jose';
import {
  Secret,
  resolveEnvironmentSecrets,
  type EnvironmentConfig,
  type EnvironmentWithSecrets,
} from '../config/index.js';
import { CanaryError, silentLogger, type Logger } from '../shared/index.js';

/** What the probe needs from a started local target. */
export interface LocalTargetHandle {
  readonly url: string;
  readonly anonKey: string;
  readonly serviceRoleKey: string;
  createMechanic(options?: { name?: string }): Promise<{ id: string; token: string }>;
  stop(): Promise<void>;
}

/** The subset of startTarget()'s options the environment config sets. */
export interface LocalTargetRequest {
  limits?: Record<string, number | undefined>;
  // Validated against the target's fault schema when the config was loaded.
  faults?: Record<string, unknown>;
  faultSeed?: number;
  broadcastChannel?: string;
  logger?: Logger;
}

export type StartLocalTarget = (request: LocalTargetRequest) => Promise<LocalTargetHandle>;

export interface MechanicIdentity {
  id: string;
  token: Secret;
}

export interface ResolvedEnvironment {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly config: EnvironmentConfig;
  readonly kind: 'local' | 'remote';
  readonly supabaseUrl: string;
  readonly anonKey: Secret;
  readonly serviceRoleKey: Secret | undefined;
  readonly waiverUrl: string | undefined;
  readonly waiverHeaders: Record<string, Secret>;
  readonly queueUrl: string | undefined;
  readonly schema: string;
  readonly table: string;
  readonly sessionsTable: string;
  readonly changesChannel: string;
  readonly broadcastChannel: string;
  readonly broadcastEvent: string;
  readonly connectionLimit: number;
  readonly loadRateCap: number;
  /** Mechanics subscribers and pollers use, round-robin. */
  readonly mechanics: readonly MechanicIdentity[];
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
  /** Mechanics to create on a local target when the config does not say (default 4). */
  defaultLocalMechanics?: number;
}

/**
 * Turns a validated environment config into a live environment. Throws ENV_VAR_MISSING for
 * missing secrets and TARGET_START_FAILED when a local target cannot start.
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
    connectionLimit: env.connectionLimit,
    loadRateCap: env.loadRateCap,
  };

  if (env.local) {
    if (!options.startLocalTarget) {
      throw new CanaryError(
        'INTERNAL',
        `environment "${env.name}" is local but no target starter was given`,
        {
          hint: 'pass startLocalTarget (startTarget from src/target) to resolveEnvironment',
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
    const count =
      env.mechanics?.from === 'local' ? env.mechanics.count : (options.defaultLocalMechanics ?? 4);
    let created = 0;
    const addMechanic = async (): Promise<MechanicIdentity> => {
      created += 1;
      const mechanic = await target.createMechanic({ name: `canary-mechanic-${created}` });
      return { id: mechanic.id, token: new Secret(mechanic.token, `${env.name}:mechanic`) };
    };
    const mechanics: MechanicIdentity[] = [];
    try {
      for (let i = 0; i < count; i++) mechanics.push(await addMechanic());
    } catch (error) {
      await target.stop().catch(() => {});
      throw new CanaryError(
        'TARGET_START_FAILED',
        `environment "${env.name}": creating mechanics failed: ${(error as Error).message}`,
        { hint: 'the local target started but its database rejected the mechanic rows', cause: error },
      );
    }
    const base = target.url.replace(/\/$/, '');
    let closed = false;
    return {
      ...common,
      kind: 'local',
      supabaseUrl: base,
      anonKey: new Secret(target.anonKey, `${env.name}:anon`),
      serviceRoleKey: new Secret(target.serviceRoleKey, `${env.name}:service_role`),
      waiverUrl: `${base}/api/waiver`,
      waiverHeaders: {},
      queueUrl: `${base}/api/mechanic/queue`,
      mechanics,
      addMechanic,
      localTarget: target,
      close: async () => {
        if (closed) return;
        closed = true;
        await target.stop();
      },
    };
  }

  const remote = env.remote;
  if (!remote) throw new CanaryError('INTERNAL', `environment "${env.name}" is neither local nor remote`);
  const secrets = withSecrets.secrets;
  const mechanics: MechanicIdentity[] = [];
  if (env.mechanics?.from === 'env') {
    env.mechanics.tokensEnv.forEach((variable, i) => {
      const token = secrets.mechanicTokens[i];
      if (token) mechanics.push({ id: subjectOf(token.reveal()) ?? `${variable}`, token });
    });
  } else if (env.mechanics?.from === 'mint' && secrets.jwtSecret) {
    for (const userId of env.mechanics.userIds) {
      const token = await mintUserToken(secrets.jwtSecret.reveal(), userId, env.mechanics.expiresInSeconds);
      mechanics.push({ id: userId, token: new Secret(token, `${env.name}:minted`) });
    }
  }
  if (!secrets.anonKey) throw new CanaryError('INTERNAL', `environment "${env.name}" has no anon key`);
  return {
    ...common,
    kind: 'remote',
    supabaseUrl: remote.supabaseUrl.replace(/\/$/, ''),
    anonKey: secrets.anonKey,
    serviceRoleKey: secrets.serviceRoleKey,
    waiverUrl: remote.waiverUrl,
    waiverHeaders: secrets.waiverHeaders,
    queueUrl: remote.queueUrl,
    mechanics,
    localTarget: undefined,
    close: async () => {},
  };
}

/** A Supabase-style user access token (role authenticated, sub = user id), HS256. */
export async function mintUserToken(
  secret: string,
  userId: string,
  expiresInSeconds: number,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: 'authenticated', aud: 'authenticated' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuedAt(now)
    .setExpirationTime(now + expiresInSeconds)
    .sign(new TextEncoder().encode(secret));
}

/** The `sub` claim of a JWT without verifying it (only used as a label-free mechanic id). */
function subjectOf(token: string): string | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as { sub?: unknown };
    return typeof claims.sub === 'string' ? claims.sub : undefined;
  } catch {
    return undefined;
  }
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
      const response = await fetch(url, {
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
      throw new CanaryError(
        'TARGET_UNREACHABLE',
        `environment "${env.name}": cannot reach ${env.supabaseUrl}: ${(error as Error).message}`,
        {
          hint: `check remote.supabaseUrl${where} and the network (DNS, proxy, firewall); the canary retries on its own`,
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
