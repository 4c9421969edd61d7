/**
 * Artillery's ws engine as the "load tool" alternative: installed at bench time into its own
 * prefix directory (it is not a project dependency), given a scenario that opens a socket, joins
 * the benchmark's broadcast channel and then only holds the connection.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BENCH_CHANNEL } from './bench-common.js';

export interface ArtilleryInstall {
  bin: string;
  version: string;
}

/** Installs artillery@version under `prefix` unless it is there already; throws with npm's tail on failure. */
export function installArtillery(prefix: string, version: string): ArtilleryInstall {
  const bin = path.join(prefix, 'node_modules', 'artillery', 'bin', 'run');
  const manifest = path.join(prefix, 'node_modules', 'artillery', 'package.json');
  const installed = fs.existsSync(manifest)
    ? (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version?: string }).version
    : undefined;
  if (installed !== version) {
    fs.mkdirSync(prefix, { recursive: true });
    const result = spawnSync(
      'npm',
      ['install', '--prefix', prefix, `artillery@${version}`, '--no-audit', '--no-fund', '--loglevel=error'],
      {
        encoding: 'utf8',
        timeout: 900_000,
        env: { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' },
      },
    );
    if (result.status !== 0 || !fs.existsSync(bin)) {
      const tail = `${result.stdout ?? ''}${result.stderr ?? ''}`.split('\n').slice(-15).join('\n');
      throw new Error(`npm install artillery@${version} failed (${result.status}):\n${tail}`);
    }
  }
  return { bin, version };
}

export interface ArtilleryRun {
  child: ChildProcess;
  logFile: string;
}

/**
 * Opens `small` connections, pauses so memory can be read at that size, then opens the rest up
 * to `large`; every virtual user joins the channel and thinks (holds the socket) for `holdSeconds`.
 */
export function startArtillery(options: {
  install: ArtilleryInstall;
  workDir: string;
  url: string;
  anonKey: string;
  token: string;
  small: number;
  large: number;
  pauseSeconds: number;
  holdSeconds: number;
  fdLimit: number;
}): ArtilleryRun {
  const join = JSON.stringify({
    topic: `realtime:${BENCH_CHANNEL}`,
    event: 'phx_join',
    payload: {
      config: {
        broadcast: { self: false, ack: false },
        presence: { key: '', enabled: false },
        postgres_changes: [],
        private: false,
      },
      access_token: options.token,
    },
    ref: '1',
    join_ref: '1',
  });
  const perSecond = 200;
  const scenario = {
    config: {
      target: `${options.url.replace(/^http/, 'ws')}/realtime/v1/websocket?apikey=${options.anonKey}&vsn=1.0.0`,
      phases: [
        { duration: Math.max(1, Math.ceil(options.small / perSecond)), arrivalCount: options.small },
        { pause: options.pauseSeconds },
        {
          duration: Math.max(1, Math.ceil((options.large - options.small) / perSecond)),
          arrivalCount: options.large - options.small,
        },
      ],
    },
    scenarios: [{ engine: 'ws', flow: [{ send: join }, { think: options.holdSeconds }] }],
  };
  // JSON is valid YAML, so no YAML writer is needed.
  const scenarioFile = path.join(options.workDir, 'artillery-hold.yml');
  fs.writeFileSync(scenarioFile, JSON.stringify(scenario, null, 2));
  const logFile = path.join(options.workDir, 'artillery.log');
  const log = fs.openSync(logFile, 'w');
  const child = spawn(
    'bash',
    [
      '-c',
      `ulimit -n ${options.fdLimit} && exec "$0" "$@"`,
      process.execPath,
      options.install.bin,
      'run',
      '--quiet',
      scenarioFile,
    ],
    {
      cwd: options.workDir,
      detached: true,
      stdio: ['ignore', log, log],
      env: { ...process.env, ARTILLERY_DISABLE_TELEMETRY: 'true', DO_NOT_TRACK: '1' },
    },
  );
  fs.closeSync(log);
  return { child, logFile };
}

/** Ends the Artillery process group this benchmark started. */
export async function stopArtillery(run: ArtilleryRun): Promise<void> {
  if (run.child.exitCode !== null || run.child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => run.child.once('exit', () => resolve()));
  try {
    process.kill(-run.child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      if (run.child.pid !== undefined) process.kill(-run.child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }, 10_000);
  await exited;
  clearTimeout(timer);
}
