/**
 * Small helpers for the Realtime gateway's integration tests: bounded waiting, recording a
 * channel's statuses, and a raw websocket client for protocol-level checks (frames the real
 * clients never send).
 */
import type { RealtimeChannel } from '@supabase/supabase-js';
import WebSocket from 'ws';

/** Poll until `read` returns something truthy; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(
  read: () => T | undefined | null | false,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface StatusLog {
  readonly statuses: string[];
  readonly errors: string[];
  /** Resolves once `status` has been seen (count times), or fails after timeoutMs. */
  reached(status: string, timeoutMs?: number, count?: number): Promise<void>;
}

/** Subscribe and record every status and error message the channel reports. */
export function subscribeAndLog(channel: RealtimeChannel): StatusLog {
  const statuses: string[] = [];
  const errors: string[] = [];
  channel.subscribe((status, error) => {
    statuses.push(status);
    if (error) errors.push(error.message);
  });
  return {
    statuses,
    errors,
    async reached(status, timeoutMs = 10_000, count = 1) {
      await waitFor(
        () => statuses.filter((seen) => seen === status).length >= count,
        `${status} (seen: ${statuses.join(', ') || 'nothing'}; errors: ${errors.join(' | ') || 'none'})`,
        timeoutMs,
      );
    },
  };
}

export interface RawSocket {
  readonly ws: WebSocket;
  /** Decoded text frames (arrays for vsn 2.0.0, objects for 1.0.0) and binary frames as Buffers. */
  readonly received: unknown[];
  send(frame: unknown): void;
  /** The first received frame matching `match`, waiting up to timeoutMs. */
  next(match: (frame: unknown) => boolean, what: string, timeoutMs?: number): Promise<unknown>;
  closed: Promise<{ code: number; reason: string }>;
}

/** Open a websocket without any Phoenix client; resolves once open or rejects with the HTTP refusal. */
export function openRawSocket(url: string, headers: Record<string, string> = {}): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const received: unknown[] = [];
    let onClose: (value: { code: number; reason: string }) => void = () => {};
    const closed = new Promise<{ code: number; reason: string }>((resolveClose) => (onClose = resolveClose));
    ws.on('message', (data, isBinary) => {
      const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      received.push(isBinary ? buffer : (JSON.parse(buffer.toString('utf8')) as unknown));
    });
    ws.on('close', (code, reason) => onClose({ code, reason: reason.toString() }));
    ws.on('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () =>
        reject(
          Object.assign(new Error(`refused ${response.statusCode}`), { status: response.statusCode, body }),
        ),
      );
    });
    ws.on('error', (error) => reject(error));
    ws.on('open', () =>
      resolve({
        ws,
        received,
        closed,
        send: (frame) =>
          ws.send(typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame)),
        next: (match, what, timeoutMs = 5000) => waitFor(() => received.find(match), what, timeoutMs),
      }),
    );
  });
}

/** The HTTP refusal of an upgrade: status and parsed JSON body. */
export async function refusalOf(url: string): Promise<{ status: number; body: unknown }> {
  try {
    const socket = await openRawSocket(url);
    socket.ws.close();
  } catch (error) {
    const { status, body } = error as { status?: number; body?: string };
    if (status !== undefined) return { status, body: body ? (JSON.parse(body) as unknown) : null };
    throw error;
  }
  throw new Error(`expected ${url} to be refused, but it connected`);
}

export function wsUrl(httpUrl: string, query: Record<string, string>): string {
  const url = new URL('/realtime/v1/websocket', httpUrl.replace(/^http/, 'ws'));
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
  return url.toString();
}
