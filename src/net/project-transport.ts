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
const STAMPS = Symbol('canary.socketStamps');
const SESSION_KEY = Symbol('canary.sessionKey');

interface StampedSocket extends net.Socket {
  [STAMPS]?: SocketStamps;
  [SESSION_KEY]?: { transport: ProjectTransport; key: string };
}

/** The timing stamps of a socket this transport opened; undefined for any other socket. */
export function socketStamps(socket: unknown): SocketStamps | undefined {
  return socket !== null && typeof socket === 'object' ? (socket as StampedSocket)[STAMPS] : undefined;
}

export class ProjectTransport {
  readonly trust: TlsTrust;
  private readonly resumeSessions: boolean;
  private readonly sessions = new Map<string, Buffer>();
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
    const session = this.resumeSessions ? this.sessions.get(key) : undefined;
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
      socket[SESSION_KEY] = { transport: this, key };
      socket.on('session', rememberSession);
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
    this.sessions.set(key, session);
    if (this.sessions.size > MAX_CACHED_SESSIONS) {
      const oldest = this.sessions.keys().next().value;
      if (oldest !== undefined) this.sessions.delete(oldest);
    }
  }

  /** Sessions held for resumption (bounded), for tests and the status page. */
  get cachedSessions(): number {
    return this.sessions.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.sessions.clear();
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
  const stamps = this[STAMPS];
  if (!stamps) return;
  stamps.secureAt = performance.now();
  stamps.resumed = (this as tls.TLSSocket).isSessionReused();
}

function rememberSession(this: StampedSocket, session: Buffer): void {
  const slot = this[SESSION_KEY];
  slot?.transport.remember(slot.key, session);
}
