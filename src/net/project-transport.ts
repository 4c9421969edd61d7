/**
 * One project's transport: the websocket `createConnection` and the `fetch` every subscriber,
 * publisher, poller and Auth call of that project uses. Over TLS they share one SecureContext
 * (per trust) and resume earlier sessions, so thousands of sockets cost less memory and a
 * reconnect storm costs fewer full handshakes; each socket carries the stamps of its TCP and TLS
 * phases for the connection-timing metrics.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { Agent, fetch as undiciFetch } from 'undici';
import type { SocketStamps } from './connection-timing.js';
import { TlsTrust } from './tls-trust.js';

/** The fields of ws's / http's connection options this transport reads. */
export interface ConnectOptions {
  host?: string | null;
  hostname?: string | null;
  port?: number | string | null;
  servername?: string;
  socketPath?: string;
  timeout?: number;
}

export type CreateConnection = (options: ConnectOptions) => Duplex;

export interface ProjectTransportOptions {
  trust?: TlsTrust;
  /** Offer the last TLS session of the same host on new connections (default true). */
  resumeSessions?: boolean;
}

const MAX_CACHED_SESSIONS = 64;
/**
 * A cached session older than this is replaced from the next connection to its host. Servers
 * issue tickets for minutes to hours (Node's default is 5 minutes); a refused one only costs a
 * full handshake.
 */
const SESSION_REFRESH_MS = 60_000;
const STAMPS = Symbol('canary.socketStamps');
const SESSION_KEY = Symbol('canary.sessionKey');

interface SessionSlot {
  transport: ProjectTransport;
  key: string;
  /** This socket listens for the host's next session (one socket per host at a time). */
  listening: boolean;
  /** This socket offered a cached session. */
  offered: boolean;
}

interface StampedSocket extends net.Socket {
  [STAMPS]?: SocketStamps;
  [SESSION_KEY]?: SessionSlot;
}

/** The timing stamps of a socket this transport opened; undefined for any other socket. */
export function socketStamps(socket: unknown): SocketStamps | undefined {
  return socket !== null && typeof socket === 'object' ? (socket as StampedSocket)[STAMPS] : undefined;
}

export class ProjectTransport {
  readonly trust: TlsTrust;
  private readonly resumeSessions: boolean;
  private readonly sessions = new Map<string, { session: Buffer; at: number }>();
  /** Hosts with a socket listening for a new session right now. */
  private readonly listening = new Set<string>();
  private agent: Agent | undefined;
  private closed = false;

  constructor(options: ProjectTransportOptions = {}) {
    this.trust = options.trust ?? TlsTrust.system();
    this.resumeSessions = options.resumeSessions ?? true;
  }

  /** For `ws`: plain TCP for ws:// URLs, TLS with the shared context for wss://. */
  createConnectionFor(url: URL | string): CreateConnection {
    const protocol = typeof url === 'string' ? new URL(url).protocol : url.protocol;
    return protocol === 'wss:' || protocol === 'https:' ? this.connectTls : this.connectTcp;
  }

  readonly connectTcp: CreateConnection = (options) => {
    const socket: StampedSocket = net.connect({
      host: options.host ?? options.hostname ?? 'localhost',
      port: Number(options.port ?? 80),
    });
    socket[STAMPS] = { startedAt: performance.now() };
    socket.once('connect', markConnected);
    return socket;
  };

  readonly connectTls: CreateConnection = (options) => {
    const host = stripBrackets(options.host ?? options.hostname ?? 'localhost');
    const port = Number(options.port ?? 443);
    // SNI carries names only: an address gets none, as ws and https do.
    const servername = options.servername ?? (net.isIP(host) ? '' : host);
    const key = `${servername || host}:${port}`;
    const cached = this.resumeSessions ? this.sessions.get(key) : undefined;
    const session = cached?.session;
    const socket: StampedSocket = tls.connect({
      host,
      port,
      servername,
      secureContext: this.trust.secureContext,
      ...(session ? { session } : {}),
    });
    socket[STAMPS] = { startedAt: performance.now() };
    socket.once('connect', markConnected);
    socket.once('secureConnect', markSecure);
    if (this.resumeSessions) {
      // One socket per host listens for the next session: every 'session' listener makes Node
      // serialize each ticket the server sends (two per TLS 1.3 handshake), which costs CPU in a
      // reconnect storm and buys nothing once one session is cached.
      const listening =
        !this.listening.has(key) && (!cached || performance.now() - cached.at > SESSION_REFRESH_MS);
      socket[SESSION_KEY] = { transport: this, key, listening, offered: session !== undefined };
      if (listening) {
        this.listening.add(key);
        socket.on('session', rememberSession);
        socket.once('close', stopListening);
      }
    }
    return socket;
  };

  /** fetch over this transport's trust (same SecureContext; undici resumes sessions itself). */
  readonly fetch: typeof globalThis.fetch = (input, init) => {
    this.agent ??= new Agent({ connect: { secureContext: this.trust.secureContext } });
    return fetchWith(this.agent, input, init);
  };

  /** @internal */
  remember(key: string, session: Buffer): void {
    if (this.closed) return;
    this.sessions.delete(key);
    this.sessions.set(key, { session, at: performance.now() });
    if (this.sessions.size > MAX_CACHED_SESSIONS) {
      const oldest = this.sessions.keys().next().value;
      if (oldest !== undefined) this.sessions.delete(oldest);
    }
  }

  /** @internal The listening socket of `key` closed or got its session: another may listen. */
  release(key: string): void {
    this.listening.delete(key);
  }

  /** @internal The server refused the session offered for `key`: the next socket fetches a new one. */
  forget(key: string): void {
    this.sessions.delete(key);
  }

  /** Sessions held for resumption (bounded), for tests and the status page. */
  get cachedSessions(): number {
    return this.sessions.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.sessions.clear();
    this.listening.clear();
    const agent = this.agent;
    this.agent = undefined;
    await agent?.close();
  }
}

/** A transport per trust for callers that do not hold one (one-off CLI commands, tests). */
export function defaultTransport(): ProjectTransport {
  return (shared ??= new ProjectTransport());
}
let shared: ProjectTransport | undefined;

// Node's built-in fetch is undici 6 on Node 20 and 22, and accepts an undici 6 dispatcher; where
// it is another major (Node 24 ships 7), the package's own fetch keeps dispatcher and fetch paired.
const builtInUndiciMajor = Number((process.versions.undici ?? '0').split('.')[0]);
const USE_BUILT_IN_FETCH = builtInUndiciMajor === 6;

function fetchWith(
  agent: Agent,
  input: Parameters<typeof fetch>[0],
  init: RequestInit | undefined,
): Promise<Response> {
  if (USE_BUILT_IN_FETCH) {
    // `dispatcher` is undici's extension of RequestInit, absent from the DOM typings.
    return globalThis.fetch(input, { ...init, dispatcher: agent } as RequestInit);
  }
  // The package's Response has the same shape as the global one; only its declarations differ.
  return undiciFetch(input as Parameters<typeof undiciFetch>[0], {
    ...(init as Parameters<typeof undiciFetch>[1]),
    dispatcher: agent,
  }) as unknown as Promise<Response>;
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function markConnected(this: StampedSocket): void {
  const stamps = this[STAMPS];
  if (stamps) stamps.connectedAt = performance.now();
}

function markSecure(this: StampedSocket): void {
  const resumed = (this as tls.TLSSocket).isSessionReused();
  const stamps = this[STAMPS];
  if (stamps) {
    stamps.secureAt = performance.now();
    stamps.resumed = resumed;
  }
  const slot = this[SESSION_KEY];
  if (slot?.offered && !resumed) slot.transport.forget(slot.key);
}

function rememberSession(this: StampedSocket, session: Buffer): void {
  const slot = this[SESSION_KEY];
  if (!slot) return;
  slot.transport.remember(slot.key, session);
  // TLS 1.3 servers send a second ticket right after the first; keep listening for it, then stop.
  if (slot.listening) {
    slot.listening = false;
    slot.transport.release(slot.key);
    setImmediate(() => this.off('session', rememberSession));
  }
}

function stopListening(this: StampedSocket): void {
  const slot = this[SESSION_KEY];
  if (slot?.listening) {
    slot.listening = false;
    slot.transport.release(slot.key);
  }
}
