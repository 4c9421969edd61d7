/**
 * GET /api/status (the current snapshot as JSON) and GET /api/events (server-sent events: the
 * snapshot on connect, then each change, coalesced to at most one message per `minIntervalMs`,
 * with comment lines as keep-alives so proxies do not cut an idle stream).
 */
import type { FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { HarnessHealthSnapshot } from '../metrics/index.js';
import type { Logger } from '../shared/index.js';
import { projectStatusSnapshot, type StatusSnapshot, type StatusSource } from './status-snapshot.js';

export interface StatusRoutesOptions {
  status: StatusSource;
  health?: { snapshot(): HarnessHealthSnapshot };
  logger: Logger;
  /** Streams open right now; the exporter ends them on close so shutdown never waits on a page. */
  openStreams: Set<ServerResponse>;
  minIntervalMs: number;
  keepAliveMs: number;
}

export async function statusRoutes(app: FastifyInstance, options: StatusRoutesOptions): Promise<void> {
  const { status, health, logger, openStreams } = options;

  /** What leaves the process: the contract's fields only, with harness health filled in if known. */
  function publicSnapshot(snapshot: StatusSnapshot): StatusSnapshot {
    const projected = projectStatusSnapshot(snapshot);
    if (projected.harness === null && health) {
      const { overloaded, eventLoopLagP99Ms, cpuRatio, samples } = health.snapshot();
      if (samples > 0) projected.harness = { overloaded, eventLoopLagP99Ms, cpuRatio };
    }
    return projected;
  }

  app.get('/api/status', async (_request, reply) => {
    return reply.header('cache-control', 'no-store').send(publicSnapshot(status.snapshot()));
  });

  app.get('/api/events', (_request, reply) => {
    reply.hijack();
    const stream = reply.raw;
    stream.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // Tells nginx-style proxies not to buffer the stream.
      'x-accel-buffering': 'no',
    });
    openStreams.add(stream);

    let messageId = 0;
    let lastSentAt = 0;
    let pending: StatusSnapshot | null = null;
    let flushTimer: NodeJS.Timeout | null = null;

    const send = (snapshot: StatusSnapshot): void => {
      pending = null;
      lastSentAt = performance.now();
      messageId += 1;
      // JSON.stringify never emits a raw newline, so one data line holds the whole snapshot.
      stream.write(
        `id: ${messageId}\nevent: snapshot\ndata: ${JSON.stringify(publicSnapshot(snapshot))}\n\n`,
      );
    };

    const flush = (): void => {
      flushTimer = null;
      if (pending === null || stream.writableEnded) return;
      // A slow reader gets the newest snapshot once it drains, not a backlog of stale ones.
      if (stream.writableNeedDrain) return;
      try {
        send(pending);
      } catch (error) {
        // Runs on a timer: a malformed snapshot must cost one update, not the process.
        pending = null;
        logger.error('status snapshot could not be sent', { error: String(error) });
      }
    };

    const onChange = (snapshot: StatusSnapshot): void => {
      pending = snapshot;
      if (flushTimer) return;
      const wait = Math.max(0, options.minIntervalMs - (performance.now() - lastSentAt));
      flushTimer = setTimeout(flush, wait);
    };

    stream.write(`retry: 2000\n\n`);
    try {
      send(status.snapshot());
    } catch (error) {
      logger.error('status snapshot failed', { error: String(error) });
      stream.end(`event: failure\ndata: ${JSON.stringify({ message: 'status unavailable' })}\n\n`);
      openStreams.delete(stream);
      return;
    }

    const unsubscribe = status.subscribe(onChange);
    const keepAlive = setInterval(() => {
      if (!stream.writableEnded) stream.write(`: keep-alive\n\n`);
    }, options.keepAliveMs);
    stream.on('drain', flush);

    const cleanUp = (): void => {
      unsubscribe();
      clearInterval(keepAlive);
      if (flushTimer) clearTimeout(flushTimer);
      openStreams.delete(stream);
    };
    // The response (not the request) closes when the reader goes away.
    stream.on('close', cleanUp);
    // Ended by the exporter on shutdown: stop writing at once, before the socket is gone.
    stream.on('finish', cleanUp);
    // A reader that vanished mid-write is not an error worth more than a debug line.
    stream.on('error', (error) => logger.debug('status stream error', { error: String(error) }));
  });
}
