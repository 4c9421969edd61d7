/**
 * The exporter: one fastify server, one plugin per route group (metrics, health, status, page).
 * It is handed the registry and the status source; it owns neither and adds nothing to what they
 * say — in particular it never sees configuration or keys.
 */
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import type { Registry } from 'prom-client';
import type { HarnessHealthSnapshot } from '../metrics/index.js';
import { CanaryError, silentLogger, type Logger } from '../shared/index.js';
import { healthRoutes } from './health-routes.js';
import { metricsRoutes } from './metrics-routes.js';
import { pageRoutes } from './page-routes.js';
import type { StatusSource } from './status-snapshot.js';
import { statusRoutes } from './status-routes.js';

export const DEFAULT_EXPORTER_PORT = 9464;

export interface ExporterOptions {
  registry: Registry;
  status: StatusSource;
  /** Defaults to 127.0.0.1: exposing the exporter beyond the host is a deliberate choice. */
  host?: string;
  /** 0 picks a free port (tests); defaults to 9464. */
  port?: number;
  logger?: Logger;
  /** Harness health, shown on /healthz and filled into the status when the source has none. */
  health?: { snapshot(): HarnessHealthSnapshot };
  /** Live stream tuning: at most one snapshot per `minIntervalMs`, a keep-alive every `keepAliveMs`. */
  events?: { minIntervalMs?: number; keepAliveMs?: number };
}

export interface Exporter {
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:9464 */
  readonly url: string;
  close(): Promise<void>;
}

export async function startExporter(options: ExporterOptions): Promise<Exporter> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? DEFAULT_EXPORTER_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new CanaryError('CLI_USAGE', `exporter port must be an integer from 0 to 65535, got ${port}`, {
      hint: `pass a port such as ${DEFAULT_EXPORTER_PORT}, or 0 to pick a free one`,
    });
  }
  const logger = (options.logger ?? silentLogger).child({ component: 'exporter' });
  const openStreams = new Set<ServerResponse>();

  // Shutdown must not wait on browsers and scrapers holding keep-alive sockets open.
  const app = Fastify({ logger: false, forceCloseConnections: true });
  app.setErrorHandler((error, request, reply) => {
    logger.error('request failed', { url: request.url, error: String(error) });
    // The message stays in the log: a status source error could quote anything.
    void reply.code(500).send({ error: 'internal error; see the harness log' });
  });
  // Live pages hold their stream open forever; end them first so close() never waits on a browser.
  app.addHook('preClose', async () => {
    for (const stream of openStreams) stream.end();
    openStreams.clear();
  });

  await app.register(metricsRoutes, { registry: options.registry });
  await app.register(healthRoutes, { status: options.status, health: options.health });
  await app.register(statusRoutes, {
    status: options.status,
    health: options.health,
    logger,
    openStreams,
    minIntervalMs: options.events?.minIntervalMs ?? 250,
    keepAliveMs: options.events?.keepAliveMs ?? 15_000,
  });
  await app.register(pageRoutes);

  try {
    await app.listen({ host, port });
  } catch (error) {
    await app.close().catch(() => undefined);
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new CanaryError(
        'PORT_IN_USE',
        `the exporter cannot listen on ${host}:${port}: the port is taken`,
        {
          hint: 'stop whatever uses it, or choose another port (e.g. --metrics-port 0 for a free one)',
          cause: error,
        },
      );
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      throw new CanaryError(
        'CLI_USAGE',
        `the exporter cannot listen on ${host}: not an address of this machine`,
        {
          hint: 'use 127.0.0.1 (this machine only) or 0.0.0.0 (every interface), or one of its own addresses',
          cause: error,
        },
      );
    }
    if (code === 'EACCES') {
      throw new CanaryError('CLI_USAGE', `the exporter may not listen on port ${port}: permission denied`, {
        hint: `ports below 1024 need privileges; use ${DEFAULT_EXPORTER_PORT} or another port above 1023`,
        cause: error,
      });
    }
    throw new CanaryError(
      'INTERNAL',
      `the exporter could not listen on ${host}:${port} (${code ?? String(error)})`,
      {
        cause: error,
      },
    );
  }

  const address = app.server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${urlHost}:${address.port}`;
  logger.info('exporter listening', { url });

  let closing: Promise<void> | null = null;
  return {
    url,
    close() {
      closing ??= app.close();
      return closing;
    },
  };
}
