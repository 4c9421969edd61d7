/**
 * Local target start-up benchmark: how long `canary target` takes to be usable and to stop, and
 * how long startTarget() takes in-process, on this machine.
 *
 *   node --import tsx bench/target-start.ts [--runs 5] [--built]
 *
 * CLI phase: spawns `canary target --port 0` (the sources through tsx, or with --built the
 * dist/cli/main.js from `npm run build`), measures spawn → KEY=value lines printed ("ready") and SIGTERM → exit
 * ("stop"), and checks the postmaster and the data directory are gone afterwards. Library phase:
 * startTarget() → stop() in this process. Every run is bounded in time.
 *
 * Results on the 2-core development machine, 5 runs, load average 11 (other test suites running),
 * clusters copied from the initdb template on /dev/shm:
 *
 * | measure (ms)                               | min  | median | max  |
 * | ------------------------------------------ | ---- | ------ | ---- |
 * | canary target: spawn → ready (tsx sources) | 2166 | 2703   | 5089 |
 * | canary target: startTarget inside the CLI  | 602  | 925    | 1578 |
 * | canary target: SIGTERM → exit              | 117  | 171    | 438  |
 * | startTarget() in-process                   | 321  | 358    | 718  |
 * | stop() in-process                          | 62   | 63     | 86   |
 *
 * Every CLI run left no postmaster and no data directory. Without the template (initdb per run on
 * the disk-backed temp dir) startTarget took 4–6 s at the same load.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTarget } from '../src/local-target/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUN_TIMEOUT_MS = 60_000;

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface CliRun {
  readyMs: number;
  inProcessMs: number;
  stopMs: number;
  clean: boolean;
}

async function cliRun(): Promise<CliRun> {
  const args = process.argv.includes('--built')
    ? [path.join(ROOT, 'dist/cli/main.js')]
    : ['--import', 'tsx', 'src/cli/main.ts'];
  const started = performance.now();
  const child = spawn(process.execPath, [...args, 'target', '--port', '0'], {
    cwd: ROOT,
    env: { ...process.env, LOG_FORMAT: 'text' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
  try {
    while (!/postgresPid=\d+/.test(stderr)) {
      if (child.exitCode !== null) throw new Error(`canary target exited: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const readyMs = performance.now() - started;
    const pid = Number(/postgresPid=(\d+)/.exec(stderr)?.[1]);
    const dir = /dataDir=(\S+)/.exec(stderr)?.[1] ?? '';
    const inProcessMs = Number(/startedMs=(\d+)/.exec(stderr)?.[1]);
    const stopping = performance.now();
    child.kill('SIGTERM');
    await exited;
    return {
      readyMs,
      inProcessMs,
      stopMs: performance.now() - stopping,
      clean: !isAlive(pid) && !fs.existsSync(dir),
    };
  } finally {
    clearTimeout(timer);
  }
}

function summary(label: string, values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? NaN;
  return `| ${label} | ${Math.round(sorted[0] ?? NaN)} | ${Math.round(median)} | ${Math.round(sorted[sorted.length - 1] ?? NaN)} |`;
}

const runs = flag('runs', 5);
const cli: CliRun[] = [];
for (let i = 0; i < runs; i += 1) cli.push(await cliRun());
const library: { start: number; stop: number }[] = [];
for (let i = 0; i < runs; i += 1) {
  const started = performance.now();
  const target = await startTarget();
  const ready = performance.now();
  await target.stop();
  library.push({ start: ready - started, stop: performance.now() - ready });
}

console.log(
  `runs: ${runs}, load average: ${(await import('node:os'))
    .loadavg()
    .map((n) => n.toFixed(1))
    .join(' ')}`,
);
console.log('| measure (ms) | min | median | max |');
console.log('| --- | --- | --- | --- |');
console.log(
  summary(
    'canary target: spawn → ready',
    cli.map((run) => run.readyMs),
  ),
);
console.log(
  summary(
    'canary target: startTarget inside the CLI',
    cli.map((run) => run.inProcessMs),
  ),
);
console.log(
  summary(
    'canary target: SIGTERM → exit',
    cli.map((run) => run.stopMs),
  ),
);
console.log(
  summary(
    'startTarget() in-process',
    library.map((run) => run.start),
  ),
);
console.log(
  summary(
    'stop() in-process',
    library.map((run) => run.stop),
  ),
);
console.log(`clean after every CLI run (no postmaster, no data dir): ${cli.every((run) => run.clean)}`);
