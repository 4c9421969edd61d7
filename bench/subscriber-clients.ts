/**
 * One client kind's process in the subscriber benchmark: it holds N subscribers on one broadcast
 * channel and, on command, grows to a new N, or measures a window (CPU time, deliveries, latency
 * against the target's per-socket send stamp, event-loop lag). Run with --expose-gc so memory is
 * read after a full collection. Started by bench/subscribers.ts over IPC (BENCH_KIND, BENCH_URL,
 * BENCH_ANON_KEY, BENCH_TOKEN, and BENCH_CA_PEM for a https:// target); not meant to be run by hand.
 *
 * Over wss the lean and supabase-js kinds reach the target through a ProjectTransport that trusts
 * its CA (one shared TLS context, session resumption), as the harness does; realtime-js, naive-ws
 * and ws-floor get the CA as a user would, through the `ws` option `{ ca }` — which gives every
 * socket its own TLS context.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { RealtimeClient } from '@supabase/realtime-js';
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { ProjectTransport, TlsTrust } from '../src/net/index.js';
import { createLeanSubscriber, fixedToken, type Subscriber } from '../src/realtime/index.js';
import type { Clock } from '../src/shared/index.js';
import {
  BENCH_CHANNEL,
  BENCH_EVENT,
  monotonicMs,
  percentile,
  runQueueWaitNs,
  sentAtMs,
  type ClientCommand,
  type ClientKind,
  type ClientReply,
  type GrowResult,
  type WindowResult,
} from './bench-common.js';
import { startNaiveSubscriber } from './naive-phoenix-client.js';
import { settlesWithin } from './bench-processes.js';

const JOIN_CONCURRENCY = 200;
const JOIN_TIMEOUT_MS = 30_000;
const GROW_TIMEOUT_MS = 240_000;
const MAX_LATENCY_SAMPLES = 2_000_000;

const kind = (process.env.BENCH_KIND ?? '') as ClientKind;
const url = process.env.BENCH_URL ?? '';
const anonKey = process.env.BENCH_ANON_KEY ?? '';
const token = process.env.BENCH_TOKEN ?? '';
const caPem = process.env.BENCH_CA_PEM || undefined;
/** The harness's way over TLS: one transport per trust. */
const transport = new ProjectTransport({ trust: TlsTrust.of({ caPems: caPem ? [caPem] : [] }) });
/** A user's way: `ws` options `{ ca }` (nothing at all over ws://). */
const userWsOptions: WebSocket.ClientOptions = caPem ? { ca: caPem } : {};

/** `ws` as realtime-js's transport, with the user's `{ ca }`. */
class UserWebSocket extends WebSocket {
  constructor(address: string | URL, protocols?: string | string[]) {
    super(address, protocols, userWsOptions);
  }
}

/** `ws` as supabase-js's realtime transport, through the project transport. */
class TransportWebSocket extends WebSocket {
  constructor(address: string | URL, protocols?: string | string[]) {
    super(address, protocols, { createConnection: transport.createConnectionFor(address) });
  }
}

const reply = (message: ClientReply): void => void process.send?.(message);

/** Counting happens only inside a measurement window. */
let measuring = false;
let deliveries = 0;
const latencies = new Float64Array(MAX_LATENCY_SAMPLES);
let latencyCount = 0;

function delivered(assignmentId: unknown, receivedAt: number): void {
  if (!measuring) return;
  deliveries += 1;
  const sentAt = sentAtMs(typeof assignmentId === 'string' ? assignmentId : undefined);
  if (!Number.isNaN(sentAt) && latencyCount < MAX_LATENCY_SAMPLES) {
    latencies[latencyCount] = receivedAt - sentAt;
    latencyCount += 1;
  }
}

const closers: (() => void)[] = [];
const monotonicClock: Clock = { now: monotonicMs, wallNow: () => Date.now() };
let nextId = 0;

/** Starts one subscriber of this process's kind; resolves true once its channel is joined. */
function startOne(): Promise<boolean> {
  return settlesWithin(JOIN_TIMEOUT_MS, (settle) => {
    nextId += 1;
    if (kind === 'lean') {
      const subscriber: Subscriber = createLeanSubscriber({
        id: `lean-${nextId}`,
        supabaseUrl: url,
        anonKey,
        tokens: fixedToken(token),
        schema: 'public',
        table: 'session_assignments',
        changesChannel: `${BENCH_CHANNEL}-changes`,
        broadcastChannel: BENCH_CHANNEL,
        broadcastEvent: BENCH_EVENT,
        paths: ['broadcast'],
        clock: monotonicClock,
        transport,
        handlers: {
          onStatus: (change) => settle(change.status === 'SUBSCRIBED'),
          onDelivery: (delivery) => delivered(delivery.keys.assignmentId, delivery.receivedAt),
        },
      });
      subscriber.start();
      closers.push(() => void subscriber.stop());
    } else if (kind === 'naive-ws') {
      const subscriber = startNaiveSubscriber({
        url,
        ...(caPem ? { ca: caPem } : {}),
        anonKey,
        accessToken: token,
        channel: BENCH_CHANNEL,
        event: BENCH_EVENT,
        now: monotonicMs,
        onJoined: settle,
        onBroadcast: (payload, receivedAt) => delivered(payload.assignmentId, receivedAt),
      });
      closers.push(() => subscriber.close());
    } else if (kind === 'ws-floor') {
      const socket = new WebSocket(
        `${url.replace(/^http/, 'ws')}/realtime/v1/websocket?apikey=${encodeURIComponent(anonKey)}&vsn=1.0.0`,
        { ...userWsOptions, perMessageDeflate: false, skipUTF8Validation: true },
      );
      let joined = false;
      socket.on('open', () => socket.send(floorJoinFrame()));
      socket.on('message', (data: Buffer) => {
        const receivedAt = monotonicMs();
        if (joined) {
          const at = data.indexOf(FLOOR_STAMP_KEY);
          delivered(
            at < 0
              ? undefined
              : data.toString('latin1', at + FLOOR_STAMP_KEY.length - 1, at + FLOOR_STAMP_KEY.length + 20),
            receivedAt,
          );
          return;
        }
        joined = data.includes('"phx_reply"') && data.includes('"ok"');
        settle(joined);
      });
      socket.on('error', () => settle(false));
      closers.push(() => socket.terminate());
    } else if (kind === 'realtime-js') {
      const client = new RealtimeClient(`${url.replace(/^http/, 'ws')}/realtime/v1`, {
        params: { apikey: anonKey },
        // `ws` declares Node-style event types where realtime-js expects DOM ones; same runtime shape.
        transport: UserWebSocket as unknown as NonNullable<
          ConstructorParameters<typeof RealtimeClient>[1]
        >['transport'],
      });
      void client.setAuth(token);
      client
        .channel(BENCH_CHANNEL, { config: { broadcast: { self: false } } })
        .on('broadcast', { event: BENCH_EVENT }, (message: { payload?: { assignmentId?: unknown } }) =>
          delivered(message.payload?.assignmentId, monotonicMs()),
        )
        .subscribe((status) => settle(status === 'SUBSCRIBED'));
      closers.push(() => void client.disconnect());
    } else if (kind === 'supabase-js') {
      const client: SupabaseClient = createClient(url, anonKey, {
        realtime: {
          transport: TransportWebSocket as unknown as NonNullable<
            NonNullable<Parameters<typeof createClient>[2]>['realtime']
          >['transport'],
        },
        auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
        global: { fetch: transport.fetch },
      });
      void client.realtime.setAuth(token);
      client
        .channel(BENCH_CHANNEL, { config: { broadcast: { self: false } } })
        .on('broadcast', { event: BENCH_EVENT }, (message: { payload?: { assignmentId?: unknown } }) =>
          delivered(message.payload?.assignmentId, monotonicMs()),
        )
        .subscribe((status) => settle(status === 'SUBSCRIBED'));
      closers.push(() => void client.realtime.disconnect());
    } else {
      settle(false);
    }
  });
}

const FLOOR_STAMP_KEY = Buffer.from('"assignmentId":"T', 'latin1');
let floorJoin: string | undefined;

function floorJoinFrame(): string {
  floorJoin ??= JSON.stringify({
    topic: `realtime:${BENCH_CHANNEL}`,
    event: 'phx_join',
    payload: {
      config: {
        broadcast: { self: false, ack: false },
        presence: { key: '', enabled: false },
        postgres_changes: [],
        private: false,
      },
      access_token: token,
    },
    ref: '1',
    join_ref: '1',
  });
  return floorJoin;
}

let held = 0;

async function grow(total: number): Promise<GrowResult> {
  const started = Date.now();
  let failed = 0;
  while (held < total && Date.now() - started < GROW_TIMEOUT_MS) {
    const batch = Math.min(JOIN_CONCURRENCY, total - held);
    const results = await Promise.all(Array.from({ length: batch }, () => startOne()));
    const ok = results.filter(Boolean).length;
    held += ok;
    failed += batch - ok;
    if (failed > Math.max(100, total / 10)) break;
  }
  const joinMs = Date.now() - started;
  // Let join replies and timers settle, then collect twice so the reading is the live set only.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  collect();
  await new Promise((resolve) => setTimeout(resolve, 200));
  collect();
  const memory = process.memoryUsage();
  return { joined: held, failed, joinMs, rssBytes: memory.rss, heapUsedBytes: memory.heapUsed };
}

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
}

const loopDelay = monitorEventLoopDelay({ resolution: 10 });
let windowCpu: NodeJS.CpuUsage | undefined;
let windowStartedAt = 0;
let windowRunQueueWaitNs = 0;

function startWindow(): void {
  deliveries = 0;
  latencyCount = 0;
  loopDelay.reset();
  loopDelay.enable();
  windowCpu = process.cpuUsage();
  windowStartedAt = performance.now();
  windowRunQueueWaitNs = runQueueWaitNs(process.pid);
  measuring = true;
}

function stopWindow(): WindowResult {
  measuring = false;
  const cpu = process.cpuUsage(windowCpu);
  const waitedMs = (runQueueWaitNs(process.pid) - windowRunQueueWaitNs) / 1e6;
  const windowSeconds = (performance.now() - windowStartedAt) / 1000;
  loopDelay.disable();
  const sorted = latencies.subarray(0, latencyCount).sort();
  return {
    deliveries,
    cpuMicros: cpu.user + cpu.system,
    systemCpuMicros: cpu.system,
    latencyP50Ms: percentile(sorted, 50),
    latencyP99Ms: percentile(sorted, 99),
    latencyMaxMs: sorted[sorted.length - 1] ?? NaN,
    loopLagP99Ms: loopDelay.percentile(99) / 1e6,
    loopLagMaxMs: loopDelay.max / 1e6,
    runQueueWaitMsPerSecond: waitedMs / windowSeconds,
    rssBytes: process.memoryUsage().rss,
  };
}

process.on('message', (command: ClientCommand) => {
  void (async () => {
    try {
      if (command.kind === 'grow') reply({ kind: 'grown', result: await grow(command.total) });
      else if (command.kind === 'window-start') {
        startWindow();
        reply({ kind: 'window-started' });
      } else if (command.kind === 'window-stop') {
        const deadline = Date.now() + command.waitMs;
        while (deliveries < command.expected && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        reply({ kind: 'window', result: stopWindow() });
      } else {
        for (const close of closers) close();
        setTimeout(() => process.exit(0), 500);
      }
    } catch (error) {
      reply({ kind: 'error', message: error instanceof Error ? error.message : String(error) });
    }
  })();
});
process.on('disconnect', () => process.exit(0));
