/**
 * Pieces shared by the subscriber benchmark's processes: the IPC message shapes, the clock both
 * sides stamp with, percentiles, and process-tree memory and CPU read from /proc.
 */
import fs from 'node:fs';

/** Which client a subscriber process runs. */
/**
 * `ws-floor` is not a client anyone would ship: raw `ws` sockets that join and then only find the
 * send stamp in each frame's bytes. It shows what the transport alone costs per socket and per
 * frame, the floor under every other kind.
 */
export type ClientKind = 'supabase-js' | 'realtime-js' | 'naive-ws' | 'lean' | 'ws-floor';

export const BENCH_CHANNEL = 'bench-fanout';
export const BENCH_EVENT = 'tick';

/**
 * The broadcast payload's `assignmentId` carries the target's per-socket send time: the target
 * writes CLOCK_MONOTONIC nanoseconds over this fixed-width placeholder for every socket it writes
 * to, and every client kind already extracts `assignmentId`.
 */
export const SENT_AT_PLACEHOLDER = 'T'.padEnd(21, '#');
export const SENT_AT_DIGITS = 20;

/**
 * CLOCK_MONOTONIC in milliseconds. On Linux it is one clock for every process on the machine, so a
 * send time taken in the target process and a receive time taken here need no skew correction.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Parses `T<20 digits of ns>` back to milliseconds on the same clock; NaN when it is not one. */
export function sentAtMs(assignmentId: string | undefined): number {
  if (assignmentId === undefined || assignmentId.length !== SENT_AT_DIGITS + 1) return NaN;
  return Number(assignmentId.slice(1)) / 1e6;
}

export interface GrowResult {
  joined: number;
  failed: number;
  joinMs: number;
  rssBytes: number;
  heapUsedBytes: number;
}

export interface WindowResult {
  deliveries: number;
  cpuMicros: number;
  /** The kernel's share of cpuMicros (socket reads, epoll): no client code can remove it. */
  systemCpuMicros: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  loopLagP99Ms: number;
  loopLagMaxMs: number;
  /**
   * Milliseconds per second the process's main thread was runnable but waiting for a CPU
   * (/proc schedstat): how much of the latency is the machine's load rather than the client.
   */
  runQueueWaitMsPerSecond: number;
  rssBytes: number;
}

export type ClientCommand =
  | { kind: 'grow'; total: number }
  | { kind: 'window-start' }
  /** Ends the window once `expected` deliveries arrived, or after `waitMs` at the latest. */
  | { kind: 'window-stop'; expected: number; waitMs: number }
  | { kind: 'close' };

export type ClientReply =
  | { kind: 'grown'; result: GrowResult }
  | { kind: 'window-started' }
  | { kind: 'window'; result: WindowResult }
  | { kind: 'error'; message: string };

export type TargetCommand =
  | { kind: 'broadcast'; perSecond: number; seconds: number }
  | { kind: 'stats' }
  /** The reconnect storm: the gateway's join-rate limit from now on. */
  | { kind: 'join-limit'; perSecond: number }
  /** The reconnect storm: every socket dropped at once by the disconnect fault (then turned off). */
  | { kind: 'drop' }
  /** The reconnect storm: one numbered broadcast (`canary_event_id` = `storm-<seq>`). */
  | { kind: 'broadcast-seq'; seq: number }
  | { kind: 'stop' };

/**
 * The socket floors: sockets that connect (and, over TLS, finish the handshake) to a server that
 * only holds them, each kind in its own process. The first five are the floors every benchmark
 * run measures; the rest are variants of the TLS and ws-over-TLS floors, each changing one thing,
 * to find what else cuts memory per socket.
 */
export const FLOOR_KINDS = {
  tcp: 'raw TCP socket (net.connect)',
  tls: "raw TLS socket, tls.connect({ ca }): Node's default, a new SecureContext per connection",
  'tls-shared': 'raw TLS socket, one shared SecureContext',
  'ws-tcp': '`ws` over TCP',
  'ws-tls': '`ws` over TLS, one shared SecureContext (`ws` option secureContext)',
  'tls-transport': "ProjectTransport.connectTls: shared context, offers the host's last session",
  'tls-shared-session-listener': "shared context + a 'session' listener on every socket",
  'tls-shared-resumed': 'shared context, every connection after the first resumes its session',
  'tls-shared-hwm': 'shared context, highWaterMark 1 KB (default 16 KB)',
  'tls-shared-tls12': 'shared context, TLS 1.2 only (maxVersion TLSv1.2)',
  'tls-shared-drop-fields': 'shared context, ssl / _tlsOptions / connect options dropped after the handshake',
  'tls-shared-serial': 'shared context, 10 handshakes at a time instead of 200',
  'ws-tls-resumed': '`ws` over TLS, shared context, every connection after the first resumes its session',
  'ws-tls-ca': '`ws` over TLS with the `ws` option { ca } (a new SecureContext per connection)',
  'ws-tls-transport': '`ws` over ProjectTransport.connectTls (what the lean client uses over wss)',
  'ws-tls-max-payload': '`ws` over TLS, shared context, maxPayload 64 KB (default 100 MB)',
} as const;
export type FloorKind = keyof typeof FLOOR_KINDS;
export const DEFAULT_FLOORS: FloorKind[] = ['tcp', 'tls', 'tls-shared', 'ws-tcp', 'ws-tls'];

export interface FloorGrowResult extends GrowResult {
  /** Connections (of all of them) that resumed an earlier TLS session. */
  resumed: number;
  /** The process's CPU time while opening this step's sockets ÷ sockets opened, in µs. */
  connectCpuMicros: number;
}

export interface FloorServerReply {
  kind: 'floor-ready';
  tcpPort: number;
  tlsPort: number;
  wsPort: number;
  wssPort: number;
  caPem: string;
}

export type TargetReply =
  /** caPem: the target's CA, when it serves https:// and wss://. */
  | { kind: 'ready'; url: string; anonKey: string; token: string; caPem?: string }
  | { kind: 'broadcasted'; broadcasts: number; recipients: number; elapsedMs: number }
  | { kind: 'stats'; connections: number; channels: number }
  | { kind: 'join-limit-set'; perSecond: number }
  /** droppedAt: CLOCK_MONOTONIC ms when the fault's tick closed the sockets. */
  | { kind: 'dropped'; dropped: number; droppedAt: number; left: number }
  /** sentAt: CLOCK_MONOTONIC ms just before the fan-out. */
  | { kind: 'sent'; seq: number; sentAt: number; recipients: number }
  | { kind: 'error'; message: string };

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** Resident memory of a process and its descendants (threads share their process's pages). */
export function treeRssBytes(rootPid: number): number {
  let total = 0;
  for (const pid of treePids(rootPid)) {
    try {
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      const match = /VmRSS:\s+(\d+) kB/.exec(status);
      if (match) total += Number(match[1]) * 1024;
    } catch {
      // The process ended between listing and reading.
    }
  }
  return total;
}

/** User + system CPU of a process and its descendants, in microseconds. */
export function treeCpuMicros(rootPid: number): number {
  const ticksPerSecond = 100; // USER_HZ on Linux
  let ticks = 0;
  for (const pid of treePids(rootPid)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended between listing and reading.
    }
  }
  return (ticks / ticksPerSecond) * 1e6;
}

function treePids(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(parent) ?? [];
      list.push(Number(entry));
      children.set(parent, list);
    } catch {
      // Gone already.
    }
  }
  const result: number[] = [];
  const queue = [rootPid];
  while (queue.length > 0 && result.length < 10_000) {
    const pid = queue.shift() as number;
    result.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return result;
}

/** Nanoseconds a process's main thread has spent runnable but not running, since it started. */
export function runQueueWaitNs(pid: number): number {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]);
  } catch {
    return NaN;
  }
}

/** `--name <number>` from argv, a positive number, or `fallback` when the flag is absent. */
export function positiveOption(argv: readonly string[], name: string, fallback: number): number {
  const index = argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(argv[index + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} needs a positive number`);
  return value;
}
