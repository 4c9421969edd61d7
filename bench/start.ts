/**
 * Start-up benchmark: how long `npm start` takes from a fresh clone (after `npm ci`, so dist/ does
 * not exist yet) and on a repeated start (dist/ up to date) until the canary has its first probe
 * result — the first delivery counted in /metrics — and how long SIGINT takes to stop it.
 *
 *   node --import tsx bench/start.ts [--runs 3] [--force]
 *
 * It clones the repository's committed HEAD into a temp directory, runs `npm ci --prefer-offline`
 * there (not timed), then times `npm start -- --port <free>` runs: the first with dist/ removed
 * (a fresh clone's state), the rest with dist/ as the previous start left it. Targets: first start
 * ≤ 10 s, repeated start ≤ 4 s. It measures only on a quiet machine (1-minute load average below
 * 1.5) unless --force. Results: docs/benchmarks.md, "Start-up".
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUN_TIMEOUT_MS = 120_000;
const MAX_LOAD = 1.5;

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Deliveries counted so far in the exporter's /metrics, or 0 while it is not up. */
async function deliveries(port: number): Promise<number> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    let total = 0;
    for (const match of text.matchAll(/^canary_delivery_latency_seconds_count\{[^}]*\} (\S+)$/gm)) {
      total += Number(match[1]);
    }
    return total;
  } catch {
    return 0;
  }
}

interface StartRun {
  firstResultMs: number;
  stopMs: number;
}

async function timedStart(dir: string): Promise<StartRun> {
  const port = await freePort();
  const started = performance.now();
  // Its own process group, so SIGINT reaches npm and the canary as Ctrl-C in a terminal would.
  const child = spawn('npm', ['start', '--silent', '--', '--port', String(port)], {
    cwd: dir,
    env: { ...process.env, LOG_FORMAT: 'json' },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), RUN_TIMEOUT_MS);
  try {
    while ((await deliveries(port)) === 0) {
      if (child.exitCode !== null) throw new Error(`npm start exited: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const firstResultMs = performance.now() - started;
    const stopping = performance.now();
    process.kill(-child.pid!, 'SIGINT');
    await exited;
    return { firstResultMs, stopMs: performance.now() - stopping };
  } finally {
    clearTimeout(timer);
  }
}

function summary(label: string, values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? NaN;
  return `| ${label.padEnd(40)} | ${String(Math.round(sorted[0] ?? NaN)).padStart(5)} | ${String(Math.round(median)).padStart(6)} | ${String(Math.round(sorted.at(-1) ?? NaN)).padStart(5)} |`;
}

async function main(): Promise<void> {
  const load = os.loadavg()[0]!;
  if (load >= MAX_LOAD && !process.argv.includes('--force')) {
    process.stderr.write(
      `load average ${load.toFixed(2)} ≥ ${MAX_LOAD}: not measuring (the numbers would be the other processes'); rerun when the machine is quiet, or pass --force\n`,
    );
    process.exitCode = 3;
    return;
  }
  const runs = flag('runs', 3);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-bench-start-'));
  fs.chmodSync(dir, 0o755);
  try {
    const clone = spawnSync('git', ['clone', '--quiet', ROOT, path.join(dir, 'repo')], { encoding: 'utf8' });
    if (clone.status !== 0) throw new Error(`git clone failed: ${clone.stderr}`);
    const repo = path.join(dir, 'repo');
    const ci = spawnSync('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: repo,
      encoding: 'utf8',
      timeout: 600_000,
    });
    if (ci.status !== 0) throw new Error(`npm ci failed: ${ci.stderr}`);
    const first: StartRun[] = [];
    const repeated: StartRun[] = [];
    for (let run = 0; run < runs; run += 1) {
      fs.rmSync(path.join(repo, 'dist'), { recursive: true, force: true });
      first.push(await timedStart(repo));
      repeated.push(await timedStart(repo));
    }
    process.stdout.write(
      [
        `load average at the start ${load.toFixed(2)}, at the end ${os.loadavg()[0]!.toFixed(2)}; ${runs} runs`,
        '',
        '| measure (ms)                             |   min | median |   max |',
        '| ---------------------------------------- | ----: | -----: | ----: |',
        summary(
          'fresh clone: npm start → first result',
          first.map((r) => r.firstResultMs),
        ),
        summary(
          'repeated: npm start → first result',
          repeated.map((r) => r.firstResultMs),
        ),
        summary(
          'SIGINT → exit',
          [...first, ...repeated].map((r) => r.stopMs),
        ),
        '',
      ].join('\n'),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
