/**
 * The reconnect storm's harness process: N lean subscribers on one broadcast channel, through one
 * ProjectTransport (BENCH_RESUME=0 turns TLS session resumption off). For each storm it notes,
 * per subscriber, when it lost its channel, when it was SUBSCRIBED again, how many sockets it
 * opened on the way, which broadcasts it received, and how many of its TLS handshakes resumed;
 * the process's CPU time from the drop to the last SUBSCRIBED. Started by bench/reconnect-storm.ts
 * over IPC (BENCH_URL, BENCH_ANON_KEY, BENCH_TOKEN, BENCH_CA_PEM); not meant to be run by hand.
 */
import { ProjectTransport, TlsTrust, type CreateConnection } from '../src/net/index.js';
import { createLeanSubscriber, fixedToken, type Subscriber } from '../src/realtime/index.js';
import type { Clock } from '../src/shared/index.js';
import { BENCH_CHANNEL, BENCH_EVENT, monotonicMs, percentile } from './bench-common.js';
import { settlesWithin } from './bench-processes.js';

const JOIN_CONCURRENCY = 200;
const JOIN_TIMEOUT_MS = 30_000;
const GROW_TIMEOUT_MS = 300_000;
const MAX_SEQ = 1_024;

const url = process.env.BENCH_URL ?? '';
const anonKey = process.env.BENCH_ANON_KEY ?? '';
const token = process.env.BENCH_TOKEN ?? '';
const caPem = process.env.BENCH_CA_PEM || undefined;
const transport = new ProjectTransport({
  trust: TlsTrust.of({ caPems: caPem ? [caPem] : [] }),
  resumeSessions: process.env.BENCH_RESUME !== '0',
});
const clock: Clock = { now: monotonicMs, wallNow: () => Date.now() };

export type StormCommand =
  | { kind: 'grow'; total: number }
  | { kind: 'storm-start' }
  | { kind: 'storm-status' }
  | { kind: 'storm-stop'; broadcasts: { seq: number; sentAt: number; recipients: number }[] }
  | { kind: 'close' };

export interface StormResult {
  subscribers: number;
  /** Subscribers that lost their channel in this storm, and that were SUBSCRIBED again. */
  lost: number;
  back: number;
  /** Drop → SUBSCRIBED again, per subscriber (ms), and the last of them. */
  backMs: { p50: number; p90: number; p99: number; max: number };
  /** How many subscribers were back within each bound (ms, cumulative). */
  backWithin: Record<string, number>;
  /** Sockets opened per subscriber on the way back: 1 = the first retry worked. */
  attempts: Record<string, number>;
  /** TLS handshakes that completed in the storm, and how many resumed a session. */
  handshakes: number;
  resumed: number;
  /** The tls phase of the storm's handshakes (ms). */
  tlsMs: { p50: number; p99: number };
  /** Harness CPU from the drop to the last SUBSCRIBED (or to the stop), ms. */
  cpuMs: number;
  /** Broadcasts sent after a subscriber was SUBSCRIBED again (and while it stayed so). */
  expectedAfterBack: number;
  /** …of which it did not receive: a drop after resubscribe. Must be 0. */
  droppedAfterBack: number;
  /** Broadcasts sent while a subscriber was down that it still received (none expected). */
  receivedWhileDown: number;
  /** Broadcasts sent after every subscriber was back: how many, and how many reached all N. */
  afterAllBack: number;
  afterAllBackComplete: number;
}

interface Tracked {
  subscriber: Subscriber;
  /** Monotonic ms of each SUBSCRIBED / loss in the current storm, in order. */
  upAt: number[];
  downAt: number[];
  attempts: number;
  received: Uint8Array;
  /** SUBSCRIBED as far as this storm has seen (all are at its start). */
  up: boolean;
}

const tracked: Tracked[] = [];
let storming = false;
let stormStartedAt = 0;
let stormCpu: NodeJS.CpuUsage | undefined;
let cpuAtAllBack: number | undefined;
let backCount = 0;
let lostCount = 0;
const tlsTimings: number[] = [];
let resumedCount = 0;

function cpuMsSince(start: NodeJS.CpuUsage | undefined): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

/** A transport view that counts this subscriber's socket attempts. */
function countingTransport(entry: { attempts: number }): ProjectTransport {
  const view = Object.create(transport) as ProjectTransport;
  view.createConnectionFor = (target) => {
    const connect = transport.createConnectionFor(target);
    const counted: CreateConnection = (options) => {
      if (storming) entry.attempts += 1;
      return connect(options);
    };
    return counted;
  };
  return view;
}

function startOne(index: number): Promise<boolean> {
  return settlesWithin(JOIN_TIMEOUT_MS, (settle, isSettled) => {
    const entry = { attempts: 0 } as Tracked;
    const subscriber = createLeanSubscriber({
      id: `storm-${index}`,
      supabaseUrl: url,
      anonKey,
      tokens: fixedToken(token),
      schema: 'public',
      table: 'session_assignments',
      changesChannel: `${BENCH_CHANNEL}-changes`,
      broadcastChannel: BENCH_CHANNEL,
      broadcastEvent: BENCH_EVENT,
      paths: ['broadcast'],
      clock,
      transport: countingTransport(entry),
      handlers: {
        onStatus: (change) => {
          if (!isSettled()) {
            settle(change.status === 'SUBSCRIBED');
            return;
          }
          if (!storming) return;
          if (change.status === 'SUBSCRIBED' && !entry.up) {
            entry.up = true;
            entry.upAt.push(change.at);
            if (entry.upAt.length === 1) {
              backCount += 1;
              if (backCount === tracked.length) cpuAtAllBack = cpuMsSince(stormCpu);
            }
          } else if (change.status !== 'SUBSCRIBED' && entry.up) {
            entry.up = false;
            entry.downAt.push(change.at);
            if (entry.downAt.length === 1) lostCount += 1;
          }
        },
        onDelivery: (delivery) => {
          if (!storming) return;
          const id = delivery.keys.eventId;
          if (id === undefined || !id.startsWith('storm-')) return;
          const seq = Number(id.slice(6));
          if (seq >= 0 && seq < MAX_SEQ) entry.received[seq] = 1;
        },
        onTiming: (timing) => {
          if (!storming || timing.phase !== 'tls') return;
          tlsTimings.push(timing.ms);
          if (timing.resumed) resumedCount += 1;
        },
      },
    });
    entry.subscriber = subscriber;
    entry.upAt = [];
    entry.downAt = [];
    entry.received = new Uint8Array(MAX_SEQ);
    entry.up = true;
    tracked.push(entry);
    subscriber.start();
  });
}

async function grow(total: number): Promise<{ joined: number; failed: number; joinMs: number }> {
  const started = Date.now();
  let joined = tracked.length;
  let failed = 0;
  while (joined < total && Date.now() - started < GROW_TIMEOUT_MS) {
    const batch = Math.min(JOIN_CONCURRENCY, total - joined);
    const results = await Promise.all(Array.from({ length: batch }, (_, i) => startOne(joined + i)));
    const ok = results.filter(Boolean).length;
    joined += batch;
    failed += batch - ok;
    if (failed > Math.max(100, total / 10)) break;
  }
  return { joined: joined - failed, failed, joinMs: Date.now() - started };
}

function startStorm(): void {
  for (const entry of tracked) {
    entry.upAt = [];
    entry.downAt = [];
    entry.attempts = 0;
    entry.up = true;
    entry.received.fill(0);
  }
  backCount = 0;
  lostCount = 0;
  cpuAtAllBack = undefined;
  tlsTimings.length = 0;
  resumedCount = 0;
  stormStartedAt = monotonicMs();
  stormCpu = process.cpuUsage();
  storming = true;
}

/** Was the subscriber SUBSCRIBED again at `at` (up interval i runs from upAt[i] to downAt[i + 1])? */
function upAt(entry: Tracked, at: number): boolean {
  for (let i = 0; i < entry.upAt.length; i++) {
    const up = entry.upAt[i] as number;
    const nextDown = entry.downAt[i + 1] ?? Infinity;
    if (up < at && at < nextDown) return true;
  }
  return false;
}

function stopStorm(broadcasts: { seq: number; sentAt: number; recipients: number }[]): StormResult {
  storming = false;
  const cpuMs = cpuAtAllBack ?? cpuMsSince(stormCpu);
  const droppedAt = Math.min(...tracked.map((entry) => entry.downAt[0] ?? Infinity));
  const backTimes = tracked
    .filter((entry) => entry.downAt.length > 0 && entry.upAt.length > 0)
    .map((entry) => (entry.upAt[0] as number) - (entry.downAt[0] as number));
  const sorted = Float64Array.from(backTimes).sort();
  const bounds = [1_500, 3_500, 8_500, 18_500, 30_000, 60_000, 120_000, Infinity];
  const backWithin: Record<string, number> = {};
  for (const bound of bounds) {
    backWithin[bound === Infinity ? 'any' : String(bound)] = backTimes.filter((ms) => ms <= bound).length;
  }
  const attempts: Record<string, number> = {};
  for (const entry of tracked) {
    if (entry.downAt.length === 0) continue;
    const label = entry.attempts >= 6 ? '6+' : String(entry.attempts);
    attempts[label] = (attempts[label] ?? 0) + 1;
  }
  let expectedAfterBack = 0;
  let droppedAfterBack = 0;
  let receivedWhileDown = 0;
  for (const entry of tracked) {
    for (const broadcast of broadcasts) {
      if (broadcast.sentAt < droppedAt || broadcast.seq >= MAX_SEQ) continue;
      const got = entry.received[broadcast.seq] === 1;
      if (upAt(entry, broadcast.sentAt)) {
        expectedAfterBack += 1;
        if (!got) droppedAfterBack += 1;
      } else if (got) receivedWhileDown += 1;
    }
  }
  const allBackAt =
    backCount === tracked.length ? Math.max(...tracked.map((entry) => entry.upAt[0] ?? 0)) : Infinity;
  const afterAll = broadcasts.filter((broadcast) => broadcast.sentAt > allBackAt);
  const afterAllBackComplete = afterAll.filter(
    (broadcast) =>
      broadcast.recipients === tracked.length &&
      tracked.every((entry) => entry.received[broadcast.seq] === 1),
  ).length;
  const tls = Float64Array.from(tlsTimings).sort();
  return {
    subscribers: tracked.length,
    lost: lostCount,
    back: backCount,
    backMs: {
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: sorted[sorted.length - 1] ?? NaN,
    },
    backWithin,
    attempts,
    handshakes: tlsTimings.length,
    resumed: resumedCount,
    tlsMs: { p50: percentile(tls, 50), p99: percentile(tls, 99) },
    cpuMs,
    expectedAfterBack,
    droppedAfterBack,
    receivedWhileDown,
    afterAllBack: afterAll.length,
    afterAllBackComplete,
  };
}

process.on('message', (command: StormCommand) => {
  void (async () => {
    try {
      if (command.kind === 'grow') process.send?.({ kind: 'grown', ...(await grow(command.total)) });
      else if (command.kind === 'storm-start') {
        startStorm();
        process.send?.({ kind: 'storm-started', at: stormStartedAt });
      } else if (command.kind === 'storm-status') {
        process.send?.({ kind: 'storm-status', lost: lostCount, back: backCount, total: tracked.length });
      } else if (command.kind === 'storm-stop') {
        process.send?.({ kind: 'storm-result', result: stopStorm(command.broadcasts) });
      } else {
        await Promise.all(tracked.map((entry) => entry.subscriber.stop()));
        process.exit(0);
      }
    } catch (error) {
      process.send?.({ kind: 'error', message: error instanceof Error ? error.message : String(error) });
    }
  })();
});
process.on('disconnect', () => process.exit(0));
