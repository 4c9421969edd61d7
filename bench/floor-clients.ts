/**
 * One socket floor's client process (bench/bench-common.ts FLOOR_KINDS): it opens N sockets of its
 * kind to bench/floor-server.ts and holds them; on `grow` it opens more and answers with its RSS
 * after a full GC. Run with --expose-gc. Started by bench/subscribers.ts over IPC (BENCH_FLOOR,
 * BENCH_FLOOR_SERVER); not meant to be run by hand.
 */
import net from 'node:net';
import tls from 'node:tls';
import WebSocket from 'ws';
import { ProjectTransport, TlsTrust } from '../src/net/index.js';
import type { ClientCommand, FloorGrowResult, FloorKind, FloorServerReply } from './bench-common.js';
import { settlesWithin } from './bench-processes.js';

const CONNECT_CONCURRENCY = 200;
const CONNECT_TIMEOUT_MS = 30_000;
const GROW_TIMEOUT_MS = 240_000;

const kind = (process.env.BENCH_FLOOR ?? '') as FloorKind;
const server = JSON.parse(process.env.BENCH_FLOOR_SERVER ?? '{}') as FloorServerReply;
const HOST = '127.0.0.1';
// The server certificate names localhost; an address gets no SNI, as ws and https do.
const trust = TlsTrust.of({ caPems: [server.caPem] });
const sharedContext = trust.secureContext;
const transport = new ProjectTransport({ trust });

const held: { destroy(): void }[] = [];
let resumed = 0;
let firstSession: Buffer | undefined;

function tlsOptions(): tls.ConnectionOptions {
  const base: tls.ConnectionOptions = { host: HOST, port: server.tlsPort, servername: 'localhost' };
  switch (kind) {
    case 'tls':
      return { ...base, ca: server.caPem };
    case 'tls-shared-hwm':
      // Passed on to the socket's streams; @types/node does not list it for tls.connect.
      return { ...base, secureContext: sharedContext, highWaterMark: 1024 } as tls.ConnectionOptions;
    case 'tls-shared-tls12':
      return { ...base, secureContext: sharedContext, maxVersion: 'TLSv1.2' };
    case 'tls-shared-resumed':
      return { ...base, secureContext: sharedContext, ...(firstSession ? { session: firstSession } : {}) };
    default:
      return { ...base, secureContext: sharedContext };
  }
}

/** Drops what the JS side of a TLSSocket keeps after its handshake (the C++ side stays). */
function dropFields(socket: tls.TLSSocket): void {
  const loose = socket as unknown as Record<string | symbol, unknown>;
  loose._tlsOptions = undefined;
  for (const symbol of Object.getOwnPropertySymbols(socket)) {
    if (symbol.description === 'connect-options') loose[symbol] = undefined;
  }
}

function openOne(): Promise<boolean> {
  return settlesWithin(CONNECT_TIMEOUT_MS, (settle) => {
    if (kind === 'tcp') {
      const socket = net.connect({ host: HOST, port: server.tcpPort }, () => settle(true));
      socket.on('error', () => settle(false));
      // Read (and drop) whatever arrives, as any client does: a paused socket would leave it queued.
      socket.resume();
      held.push(socket);
    } else if (kind === 'tls-transport') {
      // By address, with the certificate's name for SNI, like the other TLS floors (no DNS lookup).
      const socket = transport.connectTls({
        host: HOST,
        port: server.tlsPort,
        servername: 'localhost',
      }) as tls.TLSSocket;
      socket.once('secureConnect', () => {
        if (socket.isSessionReused()) resumed += 1;
        settle(socket.authorized);
      });
      socket.on('error', () => settle(false));
      socket.resume();
      held.push(socket);
    } else if (kind.startsWith('tls')) {
      const socket = tls.connect(tlsOptions(), () => {
        if (socket.isSessionReused()) resumed += 1;
        if (kind === 'tls-shared-drop-fields') dropFields(socket);
        settle(socket.authorized);
      });
      if (kind === 'tls-shared-session-listener' || (kind === 'tls-shared-resumed' && !firstSession)) {
        socket.on('session', (session: Buffer) => {
          firstSession ??= session;
        });
      }
      socket.on('error', () => settle(false));
      socket.resume();
      held.push(socket);
    } else {
      const secure = kind !== 'ws-tcp';
      const url = secure ? `wss://localhost:${server.wssPort}/` : `ws://${HOST}:${server.wsPort}/`;
      // `ws` hands its options to tls.connect, so a shared context goes in like `ca` does.
      const options: WebSocket.ClientOptions & { secureContext?: tls.SecureContext } = {
        perMessageDeflate: false,
        skipUTF8Validation: true,
      };
      if (kind === 'ws-tls-ca') options.ca = server.caPem;
      else if (kind === 'ws-tls-transport') {
        options.createConnection = transport.createConnectionFor(
          url,
        ) as WebSocket.ClientOptions['createConnection'];
      } else if (secure) options.secureContext = sharedContext;
      if (kind === 'ws-tls-resumed' && firstSession)
        (options as tls.ConnectionOptions).session = firstSession;
      if (kind === 'ws-tls-max-payload') options.maxPayload = 64 * 1024;
      const socket = new WebSocket(url, options);
      socket.once('upgrade', (response) => {
        const tlsSocket = response.socket as tls.TLSSocket;
        if (secure && tlsSocket.isSessionReused()) resumed += 1;
        if (kind === 'ws-tls-resumed' && !firstSession) {
          const session = tlsSocket.getSession();
          if (session) firstSession = session;
        }
      });
      socket.once('open', () => settle(true));
      socket.on('error', () => settle(false));
      held.push({ destroy: () => socket.terminate() });
    }
  });
}

let count = 0;

async function grow(total: number): Promise<FloorGrowResult> {
  const started = Date.now();
  const opened = count;
  const cpuBefore = process.cpuUsage();
  let failed = 0;
  // The first socket alone, so the resumption variants have a session to offer the rest.
  if (count === 0 && total > 0) {
    if (await openOne()) count += 1;
    else failed += 1;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  while (count < total && Date.now() - started < GROW_TIMEOUT_MS) {
    const batch = Math.min(kind === 'tls-shared-serial' ? 10 : CONNECT_CONCURRENCY, total - count);
    const results = await Promise.all(Array.from({ length: batch }, () => openOne()));
    const ok = results.filter(Boolean).length;
    count += ok;
    failed += batch - ok;
    if (failed > Math.max(100, total / 10)) break;
  }
  const joinMs = Date.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const connectCpuMicros = (cpu.user + cpu.system) / Math.max(1, count - opened);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  await new Promise((resolve) => setTimeout(resolve, 200));
  gc?.();
  const memory = process.memoryUsage();
  return {
    joined: count,
    failed,
    joinMs,
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    resumed,
    connectCpuMicros,
  };
}

process.on('message', (command: ClientCommand) => {
  void (async () => {
    try {
      if (command.kind === 'grow') process.send?.({ kind: 'grown', result: await grow(command.total) });
      else if (command.kind === 'close') {
        for (const socket of held) socket.destroy();
        setTimeout(() => process.exit(0), 300);
      }
    } catch (error) {
      process.send?.({ kind: 'error', message: error instanceof Error ? error.message : String(error) });
    }
  })();
});
process.on('disconnect', () => process.exit(0));
