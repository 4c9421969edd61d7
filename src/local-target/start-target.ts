/**
 * startTarget(): brings the whole local target up in dependency order — database, migrations,
 * keys, metrics, faults, change feed, gateway, HTTP — and returns a handle that knows every URL,
 * key and secret, can create mechanics, and stops everything (idempotently) in reverse order.
 *
 * One file: it is the target's composition root; each part it wires lives in its own folder.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { Dispatcher } from 'undici';
import { CanaryError, isCanaryError, silentLogger, systemClock, type Logger } from '../shared/index.js';
import {
  FREE_PLAN_LIMITS,
  type AssignmentBroadcaster,
  type ChangeFeed,
  type FaultController,
  type PlanLimits,
  type RealtimeGateway,
  type TargetContext,
} from './components.js';
import {
  applyMigrations,
  isPortTaken,
  ASSIGNMENT_BROADCAST_TRIGGER,
  startEmbeddedDatabase,
  type AssignmentTopicMode,
  type EmbeddedDatabaseHandle,
} from './database/index.js';
import {
  createFaultController,
  createSqlFaultApplier,
  registerFaultRoutes,
  type FaultSettingsInput,
} from './faults/index.js';
import type { Server as TlsServer } from 'node:tls';
import { createHttpServer, listen } from './http-server.js';
import { delayTlsHandshakes } from './tls/handshake-delay.js';
import { createKeyRing, type LocalKeyRing } from './keys.js';
import { JWT_MODES, type JwtMode } from './auth/signing-keys.js';
import { AuthService, type AuthRateLimits } from './auth/auth-service.js';
import { registerAuthRoutes } from './auth/auth-routes.js';
import { armKeyRotationFault } from './auth/key-rotation-fault.js';
import {
  registerSigningKeyRoutes,
  signingKeyControl,
  type SigningKeyControl,
} from './auth/signing-key-routes.js';
import { createChangeFeed } from './replication/index.js';
import { createRealtimeGateway } from './gateway/index.js';
import { createAppRoutes } from './app/index.js';
import { createRestRoutes } from './rest/index.js';
import { createTargetMetrics } from './target-metrics.js';
import {
  advertisedHost,
  createSelfDispatcher,
  resolveTargetTls,
  urlHost,
  type RequestInitWithDispatcher,
  type TargetTlsOption,
} from './tls/server-tls.js';

export const DEFAULT_BROADCAST_CHANNEL = 'mechanic-assignments';

export interface TargetOptions {
  /** Interface for HTTP + websocket; default 127.0.0.1. */
  host?: string;
  /** HTTP + websocket port; 0 (the default) picks a free one. */
  port?: number;
  /**
   * Serve https:// and wss:// on the port: `true` issues a CA and server certificate for this run
   * (localhost, 127.0.0.1, ::1 and the host; the CA is written to a temp file removed on stop()),
   * `{ certFile, keyFile }` uses the given PEM files (checked before anything starts).
   */
  tls?: TargetTlsOption;
  /** Postgres port; omitted → a free one. */
  dbPort?: number;
  /** Where the cluster lives; omitted → a temp directory removed on stop(). */
  dataDir?: string;
  /** Keep an explicit dataDir after stop() (default true when dataDir is given). */
  keepDataDir?: boolean;
  /** HS256 secret (≥ 32 chars); omitted → random per run. Not allowed in `asymmetric` mode. */
  jwtSecret?: string;
  /**
   * Which JWT keys the project has. `both` (default): user tokens are signed with an ES256 key,
   * the legacy HS256 secret and the legacy anon / service_role JWT keys still verify, and the
   * publishable / secret keys work. `asymmetric`: ES256 only (no HS256 secret, no legacy keys).
   * `legacy`: HS256 only (no ES256 key; the JWKS is empty), publishable / secret keys still work.
   * When omitted, CANARY_TARGET_JWT_MODE (legacy | asymmetric | both) is read, else `both`.
   */
  jwtMode?: JwtMode;
  /** Lifetime of access tokens the target issues (sign-in, refresh, createMechanic); default 3600. */
  accessTokenTtlSeconds?: number;
  /** Auth settings: rate limits per client address and the refresh-token reuse interval. */
  auth?: {
    rateLimits?: Partial<AuthRateLimits>;
    /** Seconds a rotated refresh token may still be used (concurrent refreshes); default 10 like Supabase. */
    refreshTokenReuseIntervalSeconds?: number;
  };
  limits?: Partial<PlanLimits>;
  /**
   * Realtime project settings: `privateOnly` refuses public channel joins (Supabase's "private
   * channels only"); `assignmentTopic` is where the session_assignments trigger broadcasts —
   * `per_mechanic` (mechanic:<id>:assignments, the default) or `shared` (assignments).
   */
  realtime?: { privateOnly?: boolean; assignmentTopic?: AssignmentTopicMode };
  faults?: FaultSettingsInput;
  /** Seed for the fault dice, so a run's drops can be replayed. */
  faultSeed?: number;
  /** Bearer token for /admin/v1/faults; omitted → random. */
  adminToken?: string;
  /** Channel the waiver endpoint broadcasts new_assignment on. */
  broadcastChannel?: string;
  /**
   * Replace how the waiver endpoint announces assignments (default: the REST broadcast endpoint).
   * With TLS, `dispatcher` is an undici dispatcher that trusts the target (pass it to fetch).
   */
  broadcaster?: (target: {
    url: string;
    serviceRoleKey: string;
    dispatcher: Dispatcher | undefined;
  }) => AssignmentBroadcaster;
  logger?: Logger;
}

export interface CreatedMechanic {
  /** The auth user's id, also the public.mechanics row id. */
  id: string;
  name: string;
  isAdmin: boolean;
  /** The mechanic's sign-in email (confirmed). */
  email: string;
  password: string;
  /** An access token from a real password sign-in (role authenticated, sub = id). */
  token: string;
  /** The refresh token of that sign-in. */
  refreshToken: string;
}

export interface CreateMechanicOptions {
  name?: string;
  isAdmin?: boolean;
  /** Default `canary-mechanic-<random>@canary.local`. */
  email?: string;
  /** Default a random 24-character password. */
  password?: string;
  /** Lifetime of the returned access token; default the target's accessTokenTtlSeconds. */
  expiresInSeconds?: number;
}

export const JWT_MODE_ENV = 'CANARY_TARGET_JWT_MODE';
export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 3600;

/** The JWT mode: the option, else CANARY_TARGET_JWT_MODE, else `both`. */
export function resolveJwtMode(option: JwtMode | undefined, env: NodeJS.ProcessEnv = process.env): JwtMode {
  const value = option ?? env[JWT_MODE_ENV] ?? 'both';
  if (!(JWT_MODES as readonly string[]).includes(value)) {
    const source = option === undefined ? JWT_MODE_ENV : 'jwtMode';
    throw new CanaryError('CLI_USAGE', `${source} is ${JSON.stringify(value)}, not a JWT mode`, {
      hint: `use one of ${JWT_MODES.join(', ')}`,
    });
  }
  return value as JwtMode;
}

/** What clients need to trust a TLS target. */
export interface LocalTargetTls {
  /** The CA (generated) or the certificate file's contents (given files), PEM. */
  readonly caPem: string;
  /** A file holding caPem: what NODE_EXTRA_CA_CERTS should name. */
  readonly caFile: string;
  /** SHA-256 fingerprint of what clients trust (the generated CA, or the given certificate). */
  readonly fingerprint256: string;
}

export interface LocalTarget {
  /**
   * http://host:port, or https://host:port with TLS — what SUPABASE_URL should be. IPv6 hosts are
   * bracketed; under TLS a wildcard host (0.0.0.0, ::) is replaced by a loopback address the
   * certificate covers.
   */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The key this project accepts for anon: the legacy anon JWT, or the publishable key in `asymmetric` mode. */
  readonly anonKey: string;
  /** The key this project accepts for service_role: the legacy JWT, or the secret key in `asymmetric` mode. */
  readonly serviceRoleKey: string;
  /** `sb_publishable_…` (role anon). */
  readonly publishableKey: string;
  /** `sb_secret_…` (role service_role; refused from browsers). */
  readonly secretKey: string;
  /** The legacy HS256 secret; undefined in `asymmetric` mode. */
  readonly jwtSecret: string | undefined;
  readonly jwtMode: JwtMode;
  /** `<url>/auth/v1`. */
  readonly authUrl: string;
  /** `<url>/auth/v1/.well-known/jwks.json`. */
  readonly jwksUrl: string;
  readonly accessTokenTtlSeconds: number;
  /** Runtime key rotation: add a standby key, make it current, revoke the old one. */
  readonly signingKeys: SigningKeyControl;
  readonly databaseUrl: string;
  readonly adminToken: string;
  readonly broadcastChannel: string;
  /** Set when the target serves TLS. */
  readonly tls: LocalTargetTls | undefined;
  readonly context: TargetContext;
  readonly gateway: RealtimeGateway;
  readonly feed: ChangeFeed;
  readonly faults: FaultController;
  readonly keys: LocalKeyRing;
  readonly http: FastifyInstance;
  readonly db: EmbeddedDatabaseHandle;
  /** The /auth/v1 implementation (sign-in, refresh, admin users) behind the routes. */
  readonly auth: AuthService;
  /** An auth user with a confirmed email, its public.mechanics row (same id), and a signed-in token. */
  createMechanic(options?: CreateMechanicOptions): Promise<CreatedMechanic>;
  mintToken(
    sub: string,
    options?: { expiresInSeconds?: number; claims?: Record<string, unknown> },
  ): Promise<string>;
  stop(): Promise<void>;
}

/**
 * The seed's broadcastSessionAssignment: POST the Realtime REST broadcast with the service key.
 * `dispatcher` carries the trust for a TLS target (see createSelfDispatcher).
 */
export function restBroadcaster(
  url: string,
  serviceRoleKey: string,
  channel: string,
  logger: Logger,
  dispatcher?: Dispatcher,
): AssignmentBroadcaster {
  return async (event, payload) => {
    const init: RequestInitWithDispatcher = {
      ...(dispatcher ? { dispatcher } : {}),
      method: 'POST',
      headers: {
        apikey: serviceRoleKey,
        Authorization: `Bearer ${serviceRoleKey}`,
        'Content-Type': 'application/json',
      },
      body: JSON.stringify({ messages: [{ topic: channel, event, payload, private: false }] }),
      signal: AbortSignal.timeout(10_000),
    };
    const response = await fetch(`${url}/realtime/v1/api/broadcast`, init);
    await response.body?.cancel();
    if (!response.ok) {
      logger.warn('broadcast failed; postgres_changes is the fallback', { status: response.status, event });
      throw new Error(`broadcast answered ${response.status}`);
    }
  };
}

export async function startTarget(options: TargetOptions = {}): Promise<LocalTarget> {
  const logger = options.logger ?? silentLogger;
  const host = options.host ?? '127.0.0.1';
  const broadcastChannel = options.broadcastChannel ?? DEFAULT_BROADCAST_CHANNEL;
  const adminToken = options.adminToken ?? randomBytes(24).toString('base64url');
  const cleanups: (() => Promise<void>)[] = [];
  const unwind = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };

  const port = options.port ?? 0;
  // Fail before Postgres starts when the HTTP port is obviously taken (listen() checks again).
  if (port !== 0 && (await isPortTaken(port, host))) {
    throw new CanaryError('PORT_IN_USE', `port ${port} on ${host} is already in use`, {
      hint: 'pass another --port (or --port 0 for any free port), or stop what is listening there',
    });
  }

  const startedAt = performance.now();
  const phase = (name: string): void =>
    logger.debug('target part ready', { part: name, elapsedMs: Math.round(performance.now() - startedAt) });
  try {
    // Keys first: a bad configured secret or mode fails before Postgres is started.
    const jwtMode = resolveJwtMode(options.jwtMode);
    const accessTokenTtlSeconds = options.accessTokenTtlSeconds ?? DEFAULT_ACCESS_TOKEN_TTL_SECONDS;
    if (!Number.isInteger(accessTokenTtlSeconds) || accessTokenTtlSeconds < 1) {
      throw new CanaryError(
        'CLI_USAGE',
        `the access-token lifetime ${accessTokenTtlSeconds} is not a whole number of seconds ≥ 1`,
        {
          hint: 'pass --access-token-ttl 3600 (or 20s, 1m, 1h)',
        },
      );
    }
    const tls = await resolveTargetTls(options.tls, { host, logger });
    if (tls) cleanups.push(() => tls.remove());
    const metrics = createTargetMetrics();
    const issuer = { current: 'supabase-demo' };
    const keys = await createKeyRing({
      mode: jwtMode,
      secret: options.jwtSecret,
      userIssuer: () => issuer.current,
      onRefused: (component, reason) => metrics.tokensRefused.inc({ component, reason }),
    });
    const db = await startEmbeddedDatabase({
      port: options.dbPort,
      dataDir: options.dataDir,
      keepDataDir: options.keepDataDir,
      logger: logger.child({ part: 'postgres' }),
    });
    cleanups.push(() => db.stop());
    phase('postgres');
    const applied = await applyMigrations(db.adminPool);
    phase(`migrations (${applied.length} applied)`);

    // The migrations install the per-mechanic trigger; a shared topic replaces it.
    const assignmentTopic = options.realtime?.assignmentTopic ?? 'per_mechanic';
    if (assignmentTopic !== 'per_mechanic') {
      await db.adminPool.query(
        `${ASSIGNMENT_BROADCAST_TRIGGER.drop} ${ASSIGNMENT_BROADCAST_TRIGGER.create(assignmentTopic)}`,
      );
    }
    const faults = createFaultController({
      metrics,
      initial: options.faults,
      seed: options.faultSeed,
      applySql: createSqlFaultApplier(db, { assignmentTopic }),
    });
    const context: TargetContext = {
      db,
      keys,
      faults,
      metrics,
      limits: { ...FREE_PLAN_LIMITS, ...options.limits },
      logger,
      clock: systemClock,
    };
    await faults.init();

    const rotation = signingKeyControl(keys.signingKeys, metrics, 'admin');
    const stopKeyRotation = armKeyRotationFault(
      { logger, faults },
      signingKeyControl(keys.signingKeys, metrics, 'fault'),
    );
    cleanups.push(async () => stopKeyRotation());
    const auth = new AuthService({
      pool: db.adminPool,
      keys,
      metrics,
      faults,
      accessTokenTtlSeconds,
      refreshTokenReuseIntervalSeconds: options.auth?.refreshTokenReuseIntervalSeconds,
      rateLimits: options.auth?.rateLimits,
      issuer: () => issuer.current,
      now: () => context.clock.wallNow(),
    });

    const feed = createChangeFeed(context);
    await feed.start();
    cleanups.push(() => feed.stop());
    phase('change feed');
    const gateway = createRealtimeGateway(context, feed, {
      privateOnly: options.realtime?.privateOnly ?? false,
    });
    cleanups.push(() => gateway.close());

    // The broadcaster needs the listening URL, which exists only after listen().
    const announcer: { current: AssignmentBroadcaster } = {
      current: async () => {
        throw new Error('the target is not listening yet');
      },
    };
    const http = await createHttpServer(context, {
      routes: [
        (app) => gateway.registerRoutes(app),
        async (app) => {
          await createRestRoutes(app, context);
        },
        (app) =>
          createAppRoutes(app, context, { broadcast: (event, payload) => announcer.current(event, payload) }),
        (app) => registerFaultRoutes(app, context, adminToken),
        (app) => registerAuthRoutes(app, context, auth),
        (app) => registerSigningKeyRoutes(app, rotation, adminToken),
      ],
      https: tls ? { key: tls.key, cert: tls.cert } : undefined,
    });
    cleanups.push(() => http.close());
    // With https, fastify's server is a tls.Server: the slow-TLS-edge fault holds its connections.
    if (tls) delayTlsHandshakes(http.server as unknown as TlsServer, faults);
    const boundPort = await listen(http, host, port);
    gateway.attach(http.server);
    phase('http');
    const url = `${tls ? 'https' : 'http'}://${urlHost(advertisedHost(host, tls))}:${boundPort}`;
    const authUrl = `${url}/auth/v1`;
    issuer.current = authUrl;
    // One dispatcher per target for its calls to itself; closed on stop().
    const selfDispatcher = tls ? createSelfDispatcher(tls) : undefined;
    if (selfDispatcher) cleanups.push(() => selfDispatcher.close());
    announcer.current = options.broadcaster
      ? options.broadcaster({ url, serviceRoleKey: keys.serviceRoleKey, dispatcher: selfDispatcher })
      : restBroadcaster(url, keys.serviceRoleKey, broadcastChannel, logger, selfDispatcher);

    let stopped: Promise<void> | undefined;
    const target: LocalTarget = {
      url,
      host,
      port: boundPort,
      anonKey: keys.anonKey,
      serviceRoleKey: keys.serviceRoleKey,
      publishableKey: keys.publishableKey,
      secretKey: keys.secretKey,
      jwtSecret: keys.secret,
      jwtMode,
      authUrl,
      jwksUrl: `${authUrl}/.well-known/jwks.json`,
      accessTokenTtlSeconds,
      signingKeys: rotation,
      databaseUrl: db.databaseUrl,
      adminToken,
      broadcastChannel,
      tls: tls ? { caPem: tls.caPem, caFile: tls.caFile, fingerprint256: tls.fingerprint256 } : undefined,
      context,
      gateway,
      feed,
      faults,
      keys,
      http,
      db,
      auth,
      createMechanic: (mechanicOptions = {}) => createMechanic(db.adminPool, auth, mechanicOptions),
      mintToken: (sub, tokenOptions) => keys.mintUserToken(sub, tokenOptions),
      stop() {
        stopped ??= (async () => {
          // Sockets first so clients see a clean close, then the feed's slot, HTTP, Postgres. Each
          // step is bounded: a stuck step (a client that stops reading, a request held open by a
          // delay fault) must not keep the database running; Postgres' own stop escalates.
          stopKeyRotation();
          await bounded('gateway close', () => gateway.close(), logger);
          await bounded('change feed stop', () => feed.stop(), logger);
          // Its keep-alive sockets to the target would otherwise hold http.close() open.
          if (selfDispatcher) await bounded('self dispatcher close', () => selfDispatcher.close(), logger);
          await bounded('http close', () => http.close(), logger);
          await db.stop();
          if (tls) await bounded('TLS directory removal', () => tls.remove(), logger);
        })();
        return stopped;
      },
    };
    return target;
  } catch (error) {
    await unwind();
    if (isCanaryError(error)) throw error;
    throw new CanaryError(
      'TARGET_START_FAILED',
      `the local target failed to start: ${(error as Error).message}`,
      {
        hint: 'run with LOG_LEVEL=debug to see each part start; check ports and disk space',
        cause: error,
      },
    );
  }
}

const STOP_STEP_TIMEOUT_MS = 5_000;

/** Runs one shutdown step, logging (not throwing) a failure or a step that outlives its bound. */
async function bounded(step: string, run: () => Promise<unknown>, logger: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), STOP_STEP_TIMEOUT_MS);
    timer.unref();
  });
  try {
    const outcome = await Promise.race([run().then(() => 'done' as const), timeout]);
    if (outcome === 'timeout')
      logger.warn(`${step} did not finish within ${STOP_STEP_TIMEOUT_MS} ms; going on`);
  } catch (error) {
    logger.warn(`${step} failed`, { error: String(error) });
  } finally {
    clearTimeout(timer);
  }
}

async function createMechanic(
  pool: pg.Pool,
  auth: AuthService,
  options: CreateMechanicOptions,
): Promise<CreatedMechanic> {
  const email = options.email ?? `canary-mechanic-${randomBytes(5).toString('hex')}@canary.local`;
  const password = options.password ?? randomBytes(18).toString('base64url');
  const isAdmin = options.isAdmin ?? false;
  const user = await auth.createUser({
    email,
    password,
    email_confirm: true,
    // Admins see every assignment; the app reads the role from app_metadata.
    app_metadata: isAdmin ? { role: 'admin' } : {},
  });
  const { rows } = await pool.query<{ id: string; name: string; is_admin: boolean }>(
    `insert into public.mechanics (id, name, is_admin)
     values ($1, coalesce($2, 'Mechanic ' || substr(md5(random()::text), 1, 6)), $3)
     returning id, name, is_admin`,
    [user.id, options.name ?? null, isAdmin],
  );
  const row = rows[0];
  if (!row) throw new Error('inserting a mechanic returned no row');
  const session = await auth.signInWithPassword({ email, password }, null, options.expiresInSeconds);
  return {
    id: row.id,
    name: row.name,
    isAdmin: row.is_admin,
    email,
    password,
    token: session.access_token,
    refreshToken: session.refresh_token,
  };
}
