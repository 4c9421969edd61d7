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
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { installArtillery, startArtillery, stopArtillery } from './artillery-holder.js';
import {
  argument,
  ask,
  endChild,
  fdLimit,
  listArgument,
  nextMessage,
  positive,
  spawnNode,
  printMachine,
} from './bench-processes.js';
import {
  DEFAULT_FLOORS,
  FLOOR_KINDS,
  treeCpuMicros,
  treeRssBytes,
  type FloorGrowResult,
  type FloorKind,
  type FloorServerReply,
  type ClientKind,
  type ClientReply,
  type GrowResult,
  type TargetReply,
  type WindowResult,
} from './bench-common.js';

const DRAIN_MS = 2_000;
const LATE_DELIVERY_WAIT_MS = 10_000;

type BenchKind = ClientKind | 'artillery';
const ALL_KINDS: BenchKind[] = ['lean', 'realtime-js', 'supabase-js', 'naive-ws', 'ws-floor', 'artillery'];

const verdict = (met: boolean): string => (met ? 'met' : 'missed');

type Transport = 'ws' | 'wss';
const ALL_TRANSPORTS: Transport[] = ['ws', 'wss'];

interface KindResult {
  kind: BenchKind;
  transport: Transport;
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
  const transport: Transport = ready.caPem ? 'wss' : 'ws';
  const child = spawnNode('subscriber-clients.ts', ['--expose-gc'], {
    BENCH_KIND: kind,
    BENCH_URL: ready.url,
    BENCH_ANON_KEY: ready.anonKey,
    BENCH_TOKEN: ready.token,
    BENCH_CA_PEM: ready.caPem ?? '',
  });
  const result: KindResult = { kind, transport };
  const label = `${kind} over ${transport}`;
  const grow = async (size: number): Promise<GrowResult> => {
    const reply = await ask<Extract<ClientReply, { kind: 'grown' }>>(child, { kind: 'grow', total: size });
    console.error(
      `${label}: ${reply.result.joined} joined (${reply.result.failed} failed) in ${reply.result.joinMs} ms, RSS ${mb(reply.result.rssBytes)} MB`,
    );
    return reply.result;
  };
  const describe = (at: string, measured: MeasuredWindow): void => {
    const { window } = measured;
    console.error(
      `${label} ${at}: ${window.deliveries} deliveries of ${measured.recipients} sent, ` +
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
    console.error(`${label}: ${result.note}`);
  } finally {
    await endChild(child, { kind: 'close' });
  }
  return result;
}

interface FloorResult {
  floor: FloorKind;
  small?: FloorGrowResult;
  large?: FloorGrowResult;
  note?: string;
}

/** One socket floor in its own process: RSS after a full GC at `small` and at `large` sockets. */
async function measureFloor(
  floor: FloorKind,
  server: FloorServerReply,
  small: number,
  large: number,
): Promise<FloorResult> {
  const child = spawnNode('floor-clients.ts', ['--expose-gc'], {
    BENCH_FLOOR: floor,
    BENCH_FLOOR_SERVER: JSON.stringify(server),
  });
  const result: FloorResult = { floor };
  try {
    for (const size of [small, large]) {
      const reply = await ask<{ kind: 'grown'; result: FloorGrowResult }>(child, {
        kind: 'grow',
        total: size,
      });
      if (size === small) result.small = reply.result;
      else result.large = reply.result;
      console.error(
        `floor ${floor}: ${reply.result.joined} open (${reply.result.failed} failed, ${reply.result.resumed} resumed) ` +
          `in ${reply.result.joinMs} ms (${fixed(reply.result.connectCpuMicros, 0)} µs CPU each), RSS ${mb(reply.result.rssBytes)} MB`,
      );
    }
  } catch (error) {
    result.note = error instanceof Error ? error.message : String(error);
    console.error(`floor ${floor}: ${result.note}`);
  } finally {
    await endChild(child, { kind: 'close' });
  }
  return result;
}

function floorKb(result: FloorResult, field: 'rssBytes' | 'heapUsedBytes' = 'rssBytes'): number {
  if (!result.small || !result.large) return NaN;
  const added = result.large.joined - result.small.joined;
  return added > 0 ? (result.large[field] - result.small[field]) / added / 1024 : NaN;
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
  const result: KindResult = { kind: 'artillery', transport: 'ws' };
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
    `| ${result.kind} | ${result.transport} | ${held} | ${result.large ? (result.large.joinMs / 1000).toFixed(1) : '—'} | ` +
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
  const kinds = listArgument('kinds', ALL_KINDS.join(',')) as BenchKind[];
  const unknown = kinds.filter((kind) => !ALL_KINDS.includes(kind));
  if (unknown.length > 0) throw new Error(`unknown --kinds ${unknown.join(',')}; use ${ALL_KINDS.join(',')}`);
  const allFloors = Object.keys(FLOOR_KINDS) as FloorKind[];
  const floorsArgument = argument('floors', DEFAULT_FLOORS.join(','));
  const floors = (
    floorsArgument === 'all' ? allFloors : listArgument('floors', floorsArgument)
  ) as FloorKind[];
  const unknownFloors = floors.filter((floor) => !allFloors.includes(floor));
  if (unknownFloors.length > 0) {
    throw new Error(`unknown --floors ${unknownFloors.join(',')}; use all, none or ${allFloors.join(',')}`);
  }
  const transports = listArgument('transports', ALL_TRANSPORTS.join(',')) as Transport[];
  const unknownTransports = transports.filter((transport) => !ALL_TRANSPORTS.includes(transport));
  if (unknownTransports.length > 0) {
    throw new Error(`unknown --transports ${unknownTransports.join(',')}; use ws, wss or both`);
  }
  const small = Math.round(positive('small', 1_000));
  const large = Math.round(positive('large', 5_000));
  const deliveriesPerSecond = positive('deliveries-per-second', 20_000);
  const seconds = positive('seconds', 10);
  const ceiling = Math.round(Number(argument('ceiling', '0')));
  const lowFanout = Math.round(Number(argument('low-fanout', '100')));
  const started = Date.now();
  const loadBefore = os.loadavg();

  const floorResults: FloorResult[] = [];
  if (floors.length > 0) {
    const floorServer = spawnNode('floor-server.ts', [], {});
    try {
      const ready = await nextMessage<FloorServerReply>(floorServer, 60_000);
      for (const floor of floors) floorResults.push(await measureFloor(floor, ready, small, large));
    } finally {
      await endChild(floorServer, { kind: 'stop' });
    }
  }

  const results: KindResult[] = [];
  const ceilingResults: KindResult[] = [];
  // One target per transport, one after the other: the TLS target serves https:// and wss:// only.
  for (const transport of transports) {
    const runKinds = kinds.filter((kind) => kind !== 'artillery' || transport === 'ws');
    if (runKinds.length === 0 && ceiling <= 0) continue;
    const target = spawnNode('subscribers-target.ts', [], { BENCH_TLS: transport === 'wss' ? '1' : '0' });
    try {
      const ready = await nextMessage<TargetReply>(target, 120_000);
      if (ready.kind !== 'ready') throw new Error(`target did not start: ${JSON.stringify(ready)}`);
      if ((transport === 'wss') !== Boolean(ready.caPem)) {
        throw new Error(`the ${transport} target came up at ${ready.url}`);
      }
      for (const kind of runKinds) {
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
        ceilingResults.push(
          await measureClientKind('lean', target, ready, [ceiling], 0, deliveriesPerSecond, seconds),
        );
      }
    } finally {
      await endChild(target, { kind: 'stop' });
    }
  }

  const load = printMachine(loadBefore, started);
  console.log(
    `Command: npm run bench:subscribers -- --kinds ${kinds.join(',') || 'none'} --transports ${transports.join(',') || 'none'} ` +
      `--floors ${floors.join(',') || 'none'} --small ${small} --large ${large} ` +
      `--deliveries-per-second ${deliveriesPerSecond} --seconds ${seconds}${ceiling > 0 ? ` --ceiling ${ceiling}` : ''}`,
  );
  if (floorResults.length > 0) {
    console.log('');
    console.log('Socket floors (each in its own process, against a server process that only holds sockets):');
    console.log('');
    console.log(
      `| floor | what | open / asked | resumed | RSS @${small} MB | RSS @${large} MB | KB per socket | of which JS heap KB | CPU µs per connect | note |`,
    );
    console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
    for (const result of floorResults) {
      console.log(
        `| ${result.floor} | ${FLOOR_KINDS[result.floor]} | ` +
          `${result.large ? `${result.large.joined.toLocaleString('en')} / ${large.toLocaleString('en')}` : '—'} | ` +
          `${result.large ? result.large.resumed.toLocaleString('en') : '—'} | ` +
          `${result.small ? mb(result.small.rssBytes) : '—'} | ${result.large ? mb(result.large.rssBytes) : '—'} | ` +
          `${fixed(floorKb(result), 1)} | ${fixed(floorKb(result, 'heapUsedBytes'), 1)} | ` +
          `${result.large ? fixed(result.large.connectCpuMicros, 0) : '—'} | ${result.note ?? ''} |`,
      );
    }
  }
  if (results.length > 0) {
    console.log('');
    console.log(
      `| client | transport | held / asked | join s | RSS @${small} MB | RSS @${large} MB | KB per subscriber | deliveries | CPU µs per delivery | of which kernel µs | latency p50 / p99 / max ms | loop lag p99 ms | run-queue wait ms/s | note |`,
    );
    console.log(
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    );
    for (const result of results) console.log(resultRow(result, large));
  }
  const withLowFanout = results.filter((result) => result.lowFanout);
  if (withLowFanout.length > 0) {
    console.log('');
    console.log(
      `Latency at a small fan-out (${lowFanout} subscribers, ${deliveriesPerSecond} deliveries/s, so bursts of ${lowFanout} frames):`,
    );
    console.log('');
    console.log(
      '| client | transport | deliveries | CPU µs per delivery | latency p50 / p99 / max ms | loop lag p99 ms | run-queue wait ms/s |',
    );
    console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
    for (const result of withLowFanout) {
      const window = result.lowFanout?.window;
      if (!window) continue;
      console.log(
        `| ${result.kind} | ${result.transport} | ${window.deliveries.toLocaleString('en')} / ${(result.lowFanout?.recipients ?? 0).toLocaleString('en')} | ` +
          `${fixed(window.cpuMicros / Math.max(1, window.deliveries), 2)} | ` +
          `${fixed(window.latencyP50Ms, 2)} / ${fixed(window.latencyP99Ms, 2)} / ${fixed(window.latencyMaxMs, 1)} | ` +
          `${fixed(window.loopLagP99Ms, 1)} | ${fixed(window.runQueueWaitMsPerSecond, 0)} |`,
      );
    }
  }
  const find = (kind: BenchKind, transport: Transport): KindResult | undefined =>
    results.find((result) => result.kind === kind && result.transport === transport);
  for (const transport of transports) {
    const lean = find('lean', transport);
    const realtimeJs = find('realtime-js', transport);
    if (!lean || !realtimeJs) continue;
    const memoryRatio = perSubscriberKb(lean) / perSubscriberKb(realtimeJs);
    const cpuRatio = cpuPerDelivery(lean) / cpuPerDelivery(realtimeJs);
    console.log('');
    console.log(
      `lean ÷ realtime-js over ${transport}: memory per subscriber ${fixed(memoryRatio, 3)}, CPU per delivery ${fixed(cpuRatio, 3)}` +
        (transport === 'wss' ? ` (target memory ≤ 0.6: ${verdict(memoryRatio <= 0.6)})` : ''),
    );
  }
  const leanWss = find('lean', 'wss');
  const floorOf = (floor: FloorKind): number =>
    floorKb(floorResults.find((result) => result.floor === floor) ?? { floor });
  if (leanWss) {
    for (const floor of ['tls-shared', 'tls'] as const) {
      const ratio = perSubscriberKb(leanWss) / floorOf(floor);
      if (Number.isFinite(ratio)) {
        console.log(
          `lean over wss ÷ the ${floor} floor: ${fixed(perSubscriberKb(leanWss), 1)} ÷ ${fixed(floorOf(floor), 1)} KB = ${fixed(ratio, 2)}` +
            ` (target ≤ 1.15: ${verdict(ratio <= 1.15)})`,
        );
      }
    }
  }
  const leanWs = find('lean', 'ws');
  if (leanWs) {
    for (const result of results.filter((one) => one.transport === 'wss')) {
      const ratio = cpuPerDelivery(result) / cpuPerDelivery(leanWs);
      console.log(
        `CPU per delivery, ${result.kind} over wss ÷ lean over ws: ${fixed(cpuPerDelivery(result), 2)} ÷ ${fixed(cpuPerDelivery(leanWs), 2)} µs = ${fixed(ratio, 2)}` +
          ` (target ≤ 1.5: ${verdict(ratio <= 1.5)})`,
      );
    }
  }
  for (const ceilingResult of ceilingResults) {
    console.log('');
    console.log(`Lean ceiling run over ${ceilingResult.transport} (asked ${ceiling.toLocaleString('en')}):`);
    console.log(resultRow(ceilingResult, ceiling));
  }
  const jsonFile = argument('json', '');
  if (jsonFile) {
    fs.writeFileSync(
      jsonFile,
      JSON.stringify(
        { loadBefore, loadAfter: load, fdLimit, floors: floorResults, results, ceilings: ceilingResults },
        null,
        2,
      ),
    );
  }
}

await main();
