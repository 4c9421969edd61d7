/**
 * The target's single HTTP server (fastify): health and metrics, then every route group the
 * target serves — PostgREST subset, app endpoints, Realtime REST broadcast, fault admin API. The
 * Realtime websocket shares the same port through the gateway's upgrade handler; with `https` the
 * same port serves https:// and wss://.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { CanaryError } from '../shared/index.js';
import type { TargetContext } from './components.js';

export interface HttpServerOptions {
  /** Route groups registered after health and metrics, in order. */
  routes: ((app: FastifyInstance) => Promise<void> | void)[];
  /** Largest request body accepted (bulk inserts and broadcasts can be large). */
  bodyLimitBytes?: number;
  /** Serve TLS on the port (HTTP/1.1, so websocket upgrades keep working). */
  https?: { key: string; cert: string };
}

export async function createHttpServer(
  ctx: TargetContext,
  options: HttpServerOptions,
): Promise<FastifyInstance> {
  const settings = { logger: false, bodyLimit: options.bodyLimitBytes ?? 10 * 1024 * 1024 } as const;
  // An https.Server emits the same 'request' and 'upgrade' events as an http.Server; fastify's
  // types differ only in the raw-server parameter, which no route and not the gateway depend on.
  const app = options.https
    ? (Fastify({ ...settings, https: options.https }) as unknown as FastifyInstance)
    : Fastify(settings);

  // supabase-js sends `Content-Type: application/json` on bodiless PATCH/DELETE too; an empty
  // body is "no body", not a parse error. Bad JSON is PostgREST's PGRST102.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    ['application/json', 'application/vnd.pgrst.object+json'],
    { parseAs: 'string' },
    (_request, body, done) => {
      const text = typeof body === 'string' ? body : body.toString('utf8');
      if (text.trim() === '') return done(null, undefined);
      try {
        done(null, JSON.parse(text));
      } catch {
        done(
          Object.assign(new Error('Empty or invalid json'), { statusCode: 400, code: 'PGRST102' }),
          undefined,
        );
      }
    },
  );
  // Content types nobody here reads (text/plain beacons, octet-stream) arrive as raw text.
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, _request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) ctx.logger.error('request failed', { error: error.message });
    void reply.status(status).send({
      code: error.code ?? (status >= 500 ? 'INTERNAL' : 'BAD_REQUEST'),
      message: status >= 500 ? 'internal error in the local target' : error.message,
      details: null,
      hint: null,
    });
  });

  app.get('/healthz', async () => {
    await ctx.db.adminPool.query('select 1');
    return { status: 'ok' };
  });
  app.get('/metrics', async (_request, reply) => {
    void reply.header('Content-Type', ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });

  for (const register of options.routes) await register(app);
  return app;
}

/** Listen, turning "address in use" into a CanaryError that names the port and the flag. */
export async function listen(
  app: FastifyInstance,
  host: string,
  port: number,
  flag = '--port',
): Promise<number> {
  try {
    await app.listen({ host, port });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new CanaryError('PORT_IN_USE', `port ${port} on ${host} is already in use`, {
        hint: `pass another ${flag} (or ${flag} 0 for any free port), or stop what is listening there`,
        cause: error,
      });
    }
    if (code === 'EADDRNOTAVAIL' || code === 'EACCES') {
      throw new CanaryError('TARGET_START_FAILED', `cannot listen on ${host}:${port} (${code})`, {
        hint: 'use --host 127.0.0.1 and a port above 1024',
        cause: error,
      });
    }
    throw error;
  }
  const address = app.server.address();
  return typeof address === 'object' && address ? address.port : port;
}
