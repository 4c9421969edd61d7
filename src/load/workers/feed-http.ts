/**
 * The event feed over HTTP, for shards on different machines: the publishing shard serves
 * `GET /feed?from=<n>` as newline-delimited JSON (every message since `n`, then live ones), and the
 * other shards follow it, reconnecting from where they stopped until the feed says `end`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CanaryError, sleep } from '../../shared/index.js';
import { isFeedMessage, type FeedMessage } from './event-feed.js';

export interface FeedServer {
  /** http://host:port — followers add /feed. */
  readonly url: string;
  emit(message: FeedMessage): void;
  /** Followers connected right now. */
  followers(): number;
  /** Resolves true once `count` followers are connected, false after `timeoutMs` or the signal. */
  waitForFollowers(count: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
  close(): Promise<void>;
}

export async function serveFeed(options: { host?: string; port?: number } = {}): Promise<FeedServer> {
  const history: string[] = [];
  const live = new Set<http.ServerResponse>();
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://feed');
    if (request.method !== 'GET' || url.pathname !== '/feed') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('the event feed is at GET /feed\n');
      return;
    }
    const from = Number(url.searchParams.get('from') ?? 0);
    response.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    for (const line of history.slice(Number.isInteger(from) && from > 0 ? from : 0)) response.write(line);
    live.add(response);
    response.on('close', () => live.delete(response));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    followers: () => live.size,
    async waitForFollowers(count, timeoutMs, signal) {
      const until = Date.now() + timeoutMs;
      while (live.size < count) {
        if (signal?.aborted || Date.now() >= until) return false;
        await sleep(100, signal);
      }
      return true;
    },
    emit(message) {
      const line = `${JSON.stringify(message)}\n`;
      history.push(line);
      for (const response of live) response.write(line);
    },
    async close() {
      for (const response of live) response.end();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // A follower that stopped reading must not hold the process open.
      server.closeAllConnections();
      await closed;
    },
  };
}

/**
 * Follows a feed until its `end` message, the signal, or `giveUpAfterMs` without a connection.
 * Resolves with the number of messages received.
 */
export async function followFeed(
  baseUrl: string,
  onMessage: (message: FeedMessage) => void,
  options: { signal?: AbortSignal; giveUpAfterMs?: number } = {},
): Promise<number> {
  let received = 0;
  let lastContact = Date.now();
  const giveUpAfterMs = options.giveUpAfterMs ?? 120_000;
  for (let attempt = 0; attempt < 100_000; attempt++) {
    if (options.signal?.aborted) return received;
    try {
      const response = await fetch(`${baseUrl.replace(/\/$/, '')}/feed?from=${received}`, {
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      lastContact = Date.now();
      let buffer = '';
      const decoder = new TextDecoder();
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          const message: unknown = JSON.parse(line);
          if (!isFeedMessage(message)) continue;
          received += 1;
          onMessage(message);
          if (message.type === 'end') {
            await reader.cancel().catch(() => {});
            return received;
          }
        }
      }
    } catch (error) {
      if (options.signal?.aborted) return received;
      if (Date.now() - lastContact > giveUpAfterMs) {
        throw new CanaryError(
          'TARGET_UNREACHABLE',
          `the publishing shard's event feed at ${baseUrl} did not answer for ${Math.round(giveUpAfterMs / 1000)} s (${error instanceof Error ? error.message : String(error)})`,
          { hint: 'start shard 0 (it publishes and serves the feed) and point --shard-feed at it' },
        );
      }
    }
    await sleep(250, options.signal);
  }
  return received;
}
