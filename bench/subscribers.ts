/**
 * Subscriber benchmark: the project's lean subscriber side by side, in ONE run, with what a user
 * would pick instead — a supabase-js client per subscriber, a realtime-js RealtimeClient per
 * subscriber, a naive raw-`ws` Phoenix client, and Artillery's ws engine holding connections.
 *
 *   npm run bench:subscribers -- [--kinds lean,realtime-js,supabase-js,naive-ws,ws-floor,artillery]
 *     [--small 1000] [--large 5000] [--deliveries-per-second 20000] [--seconds 10]
 *     [--low-fanout 100] [--ceiling 19000] [--artillery-version 2.0.21] [--artillery-dir <dir>] [--json <file>]
 *
 * The local target runs in its own process with its plan limits lifted and stamps every socket
 * write of a benchmark broadcast with its CLOCK_MONOTONIC send time (bench/subscribers-target.ts).
 * Each client kind then runs in its own process (bench/subscriber-clients.ts), one after another,
 * against the same target:
 *
 *   memory   RSS after a full GC at --small and at --large subscribers on one broadcast channel;
 *            per-subscriber memory is the slope between the two.
 *   CPU      at --large subscribers, the target broadcasts so that --deliveries-per-second reach
 *            the clients for --seconds; the client process's CPU time ÷ deliveries it counted.
 *   latency  receive time in the client's handler − the target's per-socket send stamp (one clock:
 *            CLOCK_MONOTONIC is shared by every process on Linux), and event-loop lag (p99).
 *   latency  also first at --low-fanout subscribers (default 100), before growing: the same
 *            deliveries/s in small bursts, so queueing behind one fan-out burst does not dominate.
 *   ceiling  the lean subscriber alone grows to --ceiling and is measured the same way.
 *
 * Artillery is installed at bench time into its own prefix (default: a temp dir); its process tree
 * is measured from /proc and its deliveries are the target's fan-out count. File-descriptor limits
 * are raised only for the processes this benchmark starts (`bash -c 'ulimit -n …'`), up to the hard
 * limit. Every phase is bounded in time. Results for this machine: docs/benchmarks.md.
 *
 * One file, though long: it is the benchmark's script — the phases above in the order they run,
 * each a short function over the same client processes; the client side and the target side are
 * already their own files.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { installArtillery, startArtillery, stopArtillery } from './artillery-holder.js';
import {
  treeCpuMicros,
  treeRssBytes,
  type ClientCommand,
  type ClientKind,
  type ClientReply,
  type GrowResult,
  type TargetCommand,
  type TargetReply,
  type WindowResult,
} from './bench-common.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const WANTED_FD_LIMIT = 200_000;
const REPLY_TIMEOUT_MS = 300_000;
const DRAIN_MS = 2_000;
const LATE_DELIVERY_WAIT_MS = 10_000;

type BenchKind = ClientKind | 'artillery';
const ALL_KINDS: BenchKind[] = ['lean', 'realtime-js', 'supabase-js', 'naive-ws', 'ws-floor', 'artillery'];

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

function positive(name: string, fallback: number): number {
  const value = Number(argument(name, String(fallback)));
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`--${name} must be a positive number (got "${argument(name, '')}")`);
  }
  return value;
}

function hardFdLimit(): number {
  const value = spawnSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim();
  return value === 'unlimited' ? WANTED_FD_LIMIT : Number(value);
}

const fdLimit = Math.min(WANTED_FD_LIMIT, hardFdLimit());

/** Node under a raised descriptor limit, with an IPC channel. */
function spawnNode(script: string, nodeFlags: string[], env: Record<string, string>): ChildProcess {
  return spawn(
    'bash',
    [
      '-c',
      `ulimit -n ${fdLimit} && exec "$0" "$@"`,
      process.execPath,
      '--import',
      'tsx',
      ...nodeFlags,
      path.join(HERE, script),
    ],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
}

function nextMessage<T>(child: ChildProcess, timeoutMs = REPLY_TIMEOUT_MS): Promise<T> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (message: T): void => {
      cleanup();
      resolve(message);
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`child process exited (${code}) before replying`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no reply within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

async function ask<T>(child: ChildProcess, command: ClientCommand | TargetCommand): Promise<T> {
  const reply = nextMessage<T>(child);
  child.send(command);
  const message = await reply;
  if ((message as { kind?: string }).kind === 'error') {
    throw new Error((message as { message?: string }).message ?? 'child error');
  }
  return message;
}

async function endChild(child: ChildProcess, command: ClientCommand | TargetCommand): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.send(command);
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

interface KindResult {
  kind: BenchKind;
  small?: GrowResult;
  large?: GrowResult;
  window?: WindowResult;
  broadcasts?: number;
  targetRecipients?: number;
  /** The latency window at a small fan-out, before growing. */
  lowFanout?: MeasuredWindow & { subscribers: number };
  note?: string;
}

const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);

function perSubscriberKb(result: KindResult): number {
  if (!result.small || !result.large) return NaN;
  const added = result.large.joined - result.small.joined;
  return added > 0 ? (result.large.rssBytes - result.small.rssBytes) / added / 1024 : NaN;
}

function cpuPerDelivery(result: KindResult): number {
  const window = result.window;
  return window && window.deliveries > 0 ? window.cpuMicros / window.deliveries : NaN;
}

const fixed = (value: number, digits: number): string =>
  Number.isFinite(value) ? value.toFixed(digits) : '—';

async function broadcastWindow(
  target: ChildProcess,
  joined: number,
  deliveriesPerSecond: number,
  seconds: number,
): Promise<Extract<TargetReply, { kind: 'broadcasted' }>> {
  return ask(target, { kind: 'broadcast', perSecond: deliveriesPerSecond / Math.max(1, joined), seconds });
}

interface MeasuredWindow {
  window: WindowResult;
  broadcasts: number;
  recipients: number;
}

async function measureWindow(
  child: ChildProcess,
  target: ChildProcess,
  joined: number,
  deliveriesPerSecond: number,
  seconds: number,
): Promise<MeasuredWindow> {
  await ask(child, { kind: 'window-start' });
  const sent = await broadcastWindow(target, joined, deliveriesPerSecond, seconds);
  await new Promise((resolve) => setTimeout(resolve, DRAIN_MS));
  // Late frames on a loaded machine still count; the wait is bounded.
  const reply = await ask<Extract<ClientReply, { kind: 'window' }>>(child, {
    kind: 'window-stop',
    expected: sent.recipients,
    waitMs: LATE_DELIVERY_WAIT_MS,
  });
  return { window: reply.result, broadcasts: sent.broadcasts, recipients: sent.recipients };
}

/**
 * `lowFanout` > 0 first measures latency at that many subscribers (many small fan-outs: each
 * broadcast is a burst of only `lowFanout` frames), then grows through `sizes` and measures again.
 */
async function measureClientKind(
  kind: ClientKind,
  target: ChildProcess,
  ready: Extract<TargetReply, { kind: 'ready' }>,
  sizes: number[],
  lowFanout: number,
  deliveriesPerSecond: number,
  seconds: number,
): Promise<KindResult> {
  const child = spawnNode('subscriber-clients.ts', ['--expose-gc'], {
    BENCH_KIND: kind,
    BENCH_URL: ready.url,
    BENCH_ANON_KEY: ready.anonKey,
    BENCH_TOKEN: ready.token,
  });
  const result: KindResult = { kind };
  const grow = async (size: number): Promise<GrowResult> => {
    const reply = await ask<Extract<ClientReply, { kind: 'grown' }>>(child, { kind: 'grow', total: size });
    console.error(
      `${kind}: ${reply.result.joined} joined (${reply.result.failed} failed) in ${reply.result.joinMs} ms, RSS ${mb(reply.result.rssBytes)} MB`,
    );
    return reply.result;
  };
  const describe = (label: string, measured: MeasuredWindow): void => {
    const { window } = measured;
    console.error(
      `${kind} ${label}: ${window.deliveries} deliveries of ${measured.recipients} sent, ` +
        `${fixed(window.cpuMicros / Math.max(1, window.deliveries), 2)} µs CPU each, latency p99 ${fixed(window.latencyP99Ms, 2)} ms, ` +
        `run-queue wait ${fixed(window.runQueueWaitMsPerSecond, 0)} ms/s`,
    );
  };
  try {
    // The low fan-out phase runs first, so it only makes sense below the first size.
    if (lowFanout > 0 && lowFanout < (sizes[0] ?? 0)) {
      const grown = await grow(lowFanout);
      const measured = await measureWindow(child, target, grown.joined, deliveriesPerSecond, seconds);
      result.lowFanout = { subscribers: grown.joined, ...measured };
      describe(`at ${grown.joined}`, measured);
    }
    const grown: GrowResult[] = [];
    for (const size of sizes) grown.push(await grow(size));
    result.small = grown.length > 1 ? grown[0] : undefined;
    result.large = grown[grown.length - 1];
    const measured = await measureWindow(
      child,
      target,
      result.large?.joined ?? 0,
      deliveriesPerSecond,
      seconds,
    );
    result.window = measured.window;
    result.broadcasts = measured.broadcasts;
    result.targetRecipients = measured.recipients;
    describe(`at ${result.large?.joined ?? 0}`, measured);
  } catch (error) {
    result.note = error instanceof Error ? error.message : String(error);
    console.error(`${kind}: ${result.note}`);
  } finally {
    await endChild(child, { kind: 'close' });
  }
  return result;
}

async function waitForConnections(
  target: ChildProcess,
  wanted: number,
  child: ChildProcess,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let connections = 0;
  while (Date.now() < deadline && child.exitCode === null) {
    const stats = await ask<Extract<TargetReply, { kind: 'stats' }>>(target, { kind: 'stats' });
    connections = stats.channels;
    if (connections >= wanted) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return connections;
}

async function measureArtillery(
  target: ChildProcess,
  ready: Extract<TargetReply, { kind: 'ready' }>,
  small: number,
  large: number,
  deliveriesPerSecond: number,
  seconds: number,
): Promise<KindResult> {
  const version = argument('artillery-version', '2.0.21');
  const prefix = argument('artillery-dir', path.join(os.tmpdir(), `canary-bench-artillery-${version}`));
  const result: KindResult = { kind: 'artillery' };
  let install;
  try {
    install = installArtillery(prefix, version);
  } catch (error) {
    result.note = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return result;
  }
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-bench-artillery-run-'));
  const pauseSeconds = 20;
  const run = startArtillery({
    install,
    workDir,
    url: ready.url,
    anonKey: ready.anonKey,
    token: ready.token,
    small,
    large,
    pauseSeconds,
    holdSeconds: 600,
    fdLimit,
  });
  const pid = run.child.pid ?? 0;
  try {
    const started = Date.now();
    const atSmall = await waitForConnections(target, small, run.child, 120_000);
    // Inside the pause: give sockets a moment to settle before reading memory.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    result.small = {
      joined: atSmall,
      failed: 0,
      joinMs: Date.now() - started,
      rssBytes: treeRssBytes(pid),
      heapUsedBytes: NaN,
    };
    const atLarge = await waitForConnections(target, large, run.child, 240_000);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    result.large = {
      joined: atLarge,
      failed: 0,
      joinMs: Date.now() - started,
      rssBytes: treeRssBytes(pid),
      heapUsedBytes: NaN,
    };
    console.error(
      `artillery ${version}: ${atSmall} → ${atLarge} joined, RSS ${mb(result.small.rssBytes)} → ${mb(result.large.rssBytes)} MB`,
    );
    if (atLarge < large) {
      const tail = fs.readFileSync(run.logFile, 'utf8').split('\n').slice(-5).join(' ').slice(0, 300);
      result.note = `only ${atLarge} of ${large} joined; artillery log: ${tail}`;
    }
    const cpuBefore = treeCpuMicros(pid);
    const sent = await broadcastWindow(target, atLarge, deliveriesPerSecond, seconds);
    await new Promise((resolve) => setTimeout(resolve, DRAIN_MS));
    const cpuMicros = treeCpuMicros(pid) - cpuBefore;

    result.broadcasts = sent.broadcasts;
    result.targetRecipients = sent.recipients;
    // Artillery does not count received frames; what the target wrote to its sockets stands in.
    result.window = {
      deliveries: sent.recipients,
      cpuMicros,
      systemCpuMicros: NaN,
      latencyP50Ms: NaN,
      latencyP99Ms: NaN,
      latencyMaxMs: NaN,
      loopLagP99Ms: NaN,
      loopLagMaxMs: NaN,
      // Artillery receives in worker threads; its main thread's run-queue wait says nothing.
      runQueueWaitMsPerSecond: NaN,
      rssBytes: treeRssBytes(pid),
    };
  } catch (error) {
    result.note = error instanceof Error ? error.message : String(error);
  } finally {
    await stopArtillery(run);
    fs.rmSync(workDir, { recursive: true, force: true });
  }
  return result;
}

function resultRow(result: KindResult, asked: number): string {
  const window = result.window;
  const held = result.large
    ? `${result.large.joined.toLocaleString('en')} / ${asked.toLocaleString('en')}`
    : '—';
  return (
    `| ${result.kind} | ${held} | ${result.large ? (result.large.joinMs / 1000).toFixed(1) : '—'} | ` +
    `${result.small ? mb(result.small.rssBytes) : '—'} | ${result.large ? mb(result.large.rssBytes) : '—'} | ` +
    `${fixed(perSubscriberKb(result), 1)} | ` +
    `${window ? window.deliveries.toLocaleString('en') : '—'} | ${fixed(cpuPerDelivery(result), 2)} | ` +
    `${window && window.deliveries > 0 ? fixed(window.systemCpuMicros / window.deliveries, 2) : '—'} | ` +
    `${window ? `${fixed(window.latencyP50Ms, 2)} / ${fixed(window.latencyP99Ms, 2)} / ${fixed(window.latencyMaxMs, 1)}` : '—'} | ` +
    `${window ? fixed(window.loopLagP99Ms, 1) : '—'} | ${window ? fixed(window.runQueueWaitMsPerSecond, 0) : '—'} | ` +
    `${result.note ?? ''} |`
  );
}

async function main(): Promise<void> {
  const kinds = argument('kinds', ALL_KINDS.join(','))
    .split(',')
    .map((kind) => kind.trim()) as BenchKind[];
  const unknown = kinds.filter((kind) => !ALL_KINDS.includes(kind));
  if (unknown.length > 0) throw new Error(`unknown --kinds ${unknown.join(',')}; use ${ALL_KINDS.join(',')}`);
  const small = Math.round(positive('small', 1_000));
  const large = Math.round(positive('large', 5_000));
  const deliveriesPerSecond = positive('deliveries-per-second', 20_000);
  const seconds = positive('seconds', 10);
  const ceiling = Math.round(Number(argument('ceiling', '0')));
  const lowFanout = Math.round(Number(argument('low-fanout', '100')));
  const started = Date.now();
  const loadBefore = os.loadavg();

  const target = spawnNode('subscribers-target.ts', [], {});
  const results: KindResult[] = [];
  let ceilingResult: KindResult | undefined;
  try {
    const ready = await nextMessage<TargetReply>(target, 120_000);
    if (ready.kind !== 'ready') throw new Error(`target did not start: ${JSON.stringify(ready)}`);
    for (const kind of kinds) {
      if (kind === 'artillery') {
        results.push(await measureArtillery(target, ready, small, large, deliveriesPerSecond, seconds));
      } else {
        results.push(
          await measureClientKind(
            kind,
            target,
            ready,
            [small, large],
            lowFanout,
            deliveriesPerSecond,
            seconds,
          ),
        );
      }
    }
    if (ceiling > 0) {
      ceilingResult = await measureClientKind(
        'lean',
        target,
        ready,
        [ceiling],
        0,
        deliveriesPerSecond,
        seconds,
      );
    }
  } finally {
    await endChild(target, { kind: 'stop' });
  }

  const load = os.loadavg();
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `Machine: ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, ${os.platform()} ${os.release()}`,
  );
  console.log(
    `Load average (1/5/15 min) at start ${loadBefore.map((v) => v.toFixed(1)).join(' / ')}, at end ${load.map((v) => v.toFixed(1)).join(' / ')}; ` +
      `descriptor limit per process ${fdLimit}; took ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  console.log(
    `Command: npm run bench:subscribers -- --kinds ${kinds.join(',')} --small ${small} --large ${large} ` +
      `--deliveries-per-second ${deliveriesPerSecond} --seconds ${seconds}${ceiling > 0 ? ` --ceiling ${ceiling}` : ''}`,
  );
  console.log('');
  console.log(
    `| client | held / asked | join s | RSS @${small} MB | RSS @${large} MB | KB per subscriber | deliveries | CPU µs per delivery | of which kernel µs | latency p50 / p99 / max ms | loop lag p99 ms | run-queue wait ms/s | note |`,
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const result of results) console.log(resultRow(result, large));
  const withLowFanout = results.filter((result) => result.lowFanout);
  if (withLowFanout.length > 0) {
    console.log('');
    console.log(
      `Latency at a small fan-out (${lowFanout} subscribers, ${deliveriesPerSecond} deliveries/s, so bursts of ${lowFanout} frames):`,
    );
    console.log('');
    console.log(
      '| client | deliveries | CPU µs per delivery | latency p50 / p99 / max ms | loop lag p99 ms | run-queue wait ms/s |',
    );
    console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
    for (const result of withLowFanout) {
      const window = result.lowFanout?.window;
      if (!window) continue;
      console.log(
        `| ${result.kind} | ${window.deliveries.toLocaleString('en')} / ${(result.lowFanout?.recipients ?? 0).toLocaleString('en')} | ` +
          `${fixed(window.cpuMicros / Math.max(1, window.deliveries), 2)} | ` +
          `${fixed(window.latencyP50Ms, 2)} / ${fixed(window.latencyP99Ms, 2)} / ${fixed(window.latencyMaxMs, 1)} | ` +
          `${fixed(window.loopLagP99Ms, 1)} | ${fixed(window.runQueueWaitMsPerSecond, 0)} |`,
      );
    }
  }
  const lean = results.find((result) => result.kind === 'lean');
  const realtimeJs = results.find((result) => result.kind === 'realtime-js');
  if (lean && realtimeJs) {
    const memoryRatio = perSubscriberKb(lean) / perSubscriberKb(realtimeJs);
    const cpuRatio = cpuPerDelivery(lean) / cpuPerDelivery(realtimeJs);
    console.log('');
    console.log(
      `lean ÷ realtime-js: memory per subscriber ${fixed(memoryRatio, 3)} (target ≤ 0.25: ${memoryRatio <= 0.25 ? 'met' : 'missed'}), ` +
        `CPU per delivery ${fixed(cpuRatio, 3)} (target ≤ 0.20: ${cpuRatio <= 0.2 ? 'met' : 'missed'})`,
    );
  }
  if (ceilingResult) {
    console.log('');
    console.log(`Lean ceiling run (asked ${ceiling.toLocaleString('en')}):`);
    console.log(resultRow(ceilingResult, ceiling));
  }
  const jsonFile = argument('json', '');
  if (jsonFile) {
    fs.writeFileSync(
      jsonFile,
      JSON.stringify({ loadBefore, loadAfter: load, fdLimit, results, ceiling: ceilingResult }, null, 2),
    );
  }
}

await main();
