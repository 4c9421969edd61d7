/**
 * Soak: the always-on job as a user runs it — `canary run` on the built package with the default
 * config (local target, the waiver-to-mechanic probe, mechanics signed in through the target's Auth)
 * — for a long time, with the canary process's RSS sampled every minute.
 *
 *   npm run build && node --import tsx bench/soak.ts [--minutes 60] [--token-ttl 300]
 *
 * --token-ttl sets the local target's access-token lifetime (seconds), so an hour's soak also lives
 * through many token renewals. At the end it prints the RSS table, the least-squares slope of RSS
 * after the first 5 minutes (MB per hour), and the run's outcome totals from its /metrics.
 * Results for this machine: docs/benchmarks.md, "Soak".
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { positiveOption } from './bench-common.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const option = (name: string, fallback: number): number => positiveOption(process.argv, name, fallback);
const minutes = option('minutes', 60);
const tokenTtl = option('token-ttl', 300);
const WARMUP_MINUTES = 5;

const main = path.join(root, 'dist/cli/main.js');
if (!fs.existsSync(main)) throw new Error('build first: npm run build');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-soak-'));
const defaults = fs.readFileSync(path.join(root, 'canary.yaml'), 'utf8');
// The default config, with a token lifetime short enough to renew many times within the soak.
const config = defaults
  .replace(/^ {4}local: \{\}$/m, `    local:\n      auth: { accessTokenTtl: ${tokenTtl}s }`)
  .replace(/- file: probes\//, `- file: ${path.join(root, 'probes')}/`)
  .replace(/- slos\//, `- ${path.join(root, 'slos')}/`);
if (config === defaults) throw new Error('canary.yaml changed shape; update bench/soak.ts');
fs.writeFileSync(path.join(dir, 'canary.yaml'), config);

const child = spawn(
  process.execPath,
  [main, 'run', '--config', path.join(dir, 'canary.yaml'), '--duration', `${minutes}m`, '--port', '0'],
  {
    cwd: dir,
    env: { ...process.env, LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'pipe'],
  },
);
let log = '';
child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

async function exporterUrl(): Promise<string> {
  for (let i = 0; i < 600; i++) {
    const match = /"msg":"exporter listening"[^\n]*"url":"(http:\/\/[^"]+)"/.exec(log);
    if (match?.[1]) return match[1];
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the exporter never started:\n${log.slice(-2000)}`);
}

function sum(metrics: string, name: string, match: string): number {
  let total = 0;
  for (const line of metrics.split('\n')) {
    if (line.startsWith(name) && line.includes(match)) total += Number(line.split(' ').pop());
  }
  return total;
}

const url = await exporterUrl();
const samples: { minute: number; rss: number }[] = [];
const started = Date.now();
let metrics = '';
for (let minute = 0; minute <= minutes - 1; minute++) {
  const wait = started + minute * 60_000 - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  if (child.exitCode !== null) break;
  samples.push({ minute, rss: rssMb(child.pid!) });
  metrics = await (await fetch(`${url}/metrics`)).text();
  process.stderr.write(`minute ${minute}: rss ${samples.at(-1)!.rss.toFixed(1)} MB\n`);
}
const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));

const late = samples.filter((s) => s.minute >= WARMUP_MINUTES);
const n = late.length;
const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
const mx = mean(late.map((s) => s.minute));
const my = mean(late.map((s) => s.rss));
const slopePerMinute =
  late.reduce((acc, s) => acc + (s.minute - mx) * (s.rss - my), 0) /
  late.reduce((acc, s) => acc + (s.minute - mx) ** 2, 0);
const spread = Math.max(...late.map((s) => s.rss)) - Math.min(...late.map((s) => s.rss));

console.log(`soak: ${minutes} min, token lifetime ${tokenTtl} s, exit code ${code}`);
console.log('| minute | RSS (MB) |\n| --- | --- |');
for (const s of samples) console.log(`| ${s.minute} | ${s.rss.toFixed(1)} |`);
console.log(
  `RSS slope after minute ${WARMUP_MINUTES}: ${(slopePerMinute * 60).toFixed(2)} MB/h over ${n} samples (spread ${spread.toFixed(1)} MB)`,
);
for (const outcome of ['delivered', 'late', 'dropped']) {
  console.log(`${outcome}: ${sum(metrics, 'canary_delivery_outcomes_total', `outcome="${outcome}"`)}`);
}
console.log(
  `auth refreshes: ${sum(metrics, 'canary_auth_refreshes_total', 'outcome="success"')} ok, ${sum(metrics, 'canary_auth_refreshes_total', 'outcome="failure"')} failed`,
);
console.log(`auth-excluded deliveries: ${sum(metrics, 'canary_auth_excluded_deliveries_total', 'env=')}`);
fs.rmSync(dir, { recursive: true, force: true });
