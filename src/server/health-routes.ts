/**
 * GET /healthz (the process is alive and answering) and GET /readyz (the measurements mean
 * something yet: every environment subscribed and through its first round; 503 with the reasons
 * until then).
 */
import type { FastifyInstance } from 'fastify';
import type { HarnessHealthSnapshot } from '../metrics/index.js';
import { judgeReadiness } from './readiness.js';
import type { StatusSource } from './status-snapshot.js';

export interface HealthRoutesOptions {
  status: StatusSource;
  health?: { snapshot(): HarnessHealthSnapshot };
}

export async function healthRoutes(app: FastifyInstance, options: HealthRoutesOptions): Promise<void> {
  const startedAt = performance.now();
  app.get('/healthz', async (_request, reply) => {
    const harness = options.health?.snapshot();
    return reply.header('cache-control', 'no-store').send({
      status: 'ok',
      uptimeSeconds: Math.round((performance.now() - startedAt) / 100) / 10,
      // Overload does not make the process unhealthy (restarting would not help); it is reported.
      ...(harness ? { harness } : {}),
    });
  });

  app.get('/readyz', async (_request, reply) => {
    const readiness = judgeReadiness(options.status.snapshot());
    return reply
      .code(readiness.ready ? 200 : 503)
      .header('cache-control', 'no-store')
      .send(readiness.ready ? { ready: true } : { ready: false, reasons: readiness.reasons });
  });
}
