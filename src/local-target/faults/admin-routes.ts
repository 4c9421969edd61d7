/**
 * The target's fault admin API, for tests, the CLI and people poking at a running target:
 *
 *   GET    /admin/v1/faults   current settings
 *   PATCH  /admin/v1/faults   merge a partial update (nested objects merge)
 *   PUT    /admin/v1/faults   replace everything (omitted keys go back to "no fault")
 *   DELETE /admin/v1/faults   reset to no faults
 *   GET    /admin/v1/stats    connections, channels, replication slot lag, faults injected so far
 *
 * Every route needs `Authorization: Bearer <admin token>`. Invalid settings answer 400 with every
 * problem and its key path; nothing is applied unless the whole body is valid.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TargetContext } from '../components.js';
import { FaultSettingsError, parseFaultSettings } from './fault-controller.js';
import type { FaultSettings } from './fault-settings.js';

export const FAULTS_PATH = '/admin/v1/faults';
export const STATS_PATH = '/admin/v1/stats';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Constant-time: compares fixed-length digests, so neither content nor length leaks through timing. */
export function adminTokenMatches(header: string | undefined, adminToken: string): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  const presented = match?.[1]?.trim() ?? '';
  const equal = timingSafeEqual(digest(presented), digest(adminToken));
  return equal && presented.length > 0;
}

/** A fastify preHandler that answers 401 unless the request carries the target's admin token. */
export function adminGuard(adminToken: string) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (adminTokenMatches(request.headers.authorization, adminToken)) return;
    await reply.code(401).header('WWW-Authenticate', 'Bearer realm="canary-target-admin"').send({
      error: 'Unauthorized',
      message:
        'missing or wrong admin token: send Authorization: Bearer <admin token> (printed when the target starts)',
    });
  };
}

export interface FaultStats {
  connections: number;
  channels: number;
  replicationLagBytes: number;
  walChanges: number;
  faultsInjected: { fault: string; path: string; count: number }[];
  faults: FaultSettings;
}

async function gaugeValue(metric: { get(): Promise<{ values: { value: number }[] }> }): Promise<number> {
  const { values } = await metric.get();
  return values.reduce((sum, sample) => sum + sample.value, 0);
}

export async function readFaultStats(ctx: TargetContext): Promise<FaultStats> {
  const injected = await ctx.metrics.faultsInjected.get();
  return {
    connections: await gaugeValue(ctx.metrics.connections),
    channels: await gaugeValue(ctx.metrics.channels),
    replicationLagBytes: await gaugeValue(ctx.metrics.replicationLagBytes),
    walChanges: await gaugeValue(ctx.metrics.walChanges),
    faultsInjected: injected.values.map((sample) => ({
      fault: String(sample.labels.fault ?? ''),
      path: String(sample.labels.path ?? ''),
      count: sample.value,
    })),
    faults: ctx.faults.current,
  };
}

function invalid(reply: FastifyReply, error: FaultSettingsError): FastifyReply {
  return reply.code(400).send({
    error: 'invalid fault settings',
    message: `${error.details.length} problem(s): ${error.issues.join('; ')}. Fix the listed keys and send again.`,
    issues: error.details,
  });
}

export async function registerFaultRoutes(
  app: FastifyInstance,
  ctx: TargetContext,
  adminToken: string,
): Promise<void> {
  if (adminToken.length === 0) throw new Error('registerFaultRoutes: the admin token must not be empty');

  const requireAdmin = adminGuard(adminToken);

  /** Runs a settings change; bad settings → 400 with every issue, anything else → 500 with the cause. */
  const change = async (reply: FastifyReply, apply: () => Promise<FaultSettings>): Promise<FastifyReply> => {
    try {
      return reply.code(200).send(await apply());
    } catch (error) {
      if (error instanceof FaultSettingsError) return invalid(reply, error);
      ctx.logger.warn('fault change failed', { error: (error as Error).message });
      return reply.code(500).send({
        error: 'fault change failed',
        message: `${(error as Error).message}; the previous settings are still in force`,
      });
    }
  };

  app.get(FAULTS_PATH, { preHandler: requireAdmin }, async () => ctx.faults.current);

  app.patch(FAULTS_PATH, { preHandler: requireAdmin }, async (request, reply) =>
    change(reply, () => ctx.faults.update((request.body ?? {}) as Parameters<typeof ctx.faults.update>[0])),
  );

  app.put(FAULTS_PATH, { preHandler: requireAdmin }, async (request, reply) =>
    change(reply, async () => {
      // Validate the whole replacement first (defaults fill what is omitted), then apply it in one
      // step: a complete object merged over the current one leaves nothing of the old behind.
      const replacement = parseFaultSettings(request.body ?? {});
      return ctx.faults.update(replacement);
    }),
  );

  app.delete(FAULTS_PATH, { preHandler: requireAdmin }, async (_request, reply) =>
    change(reply, () => ctx.faults.reset()),
  );

  app.get(STATS_PATH, { preHandler: requireAdmin }, async () => readFaultStats(ctx));
}
