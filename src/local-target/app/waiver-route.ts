/**
 * POST /api/waiver — the app's step that creates work for mechanics (after the audit's
 * "unifying fix"): create or reuse the session, insert ONE queued session_assignments row with
 * `offered_at` now and the caller's metadata, in one transaction, then announce `new_assignment`
 * through the broadcaster. A failed broadcast is logged and reported, never fatal:
 * postgres_changes is the fallback.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AssignmentBroadcaster, TargetContext } from '../components.js';
import { runAsRole } from '../database/index.js';
import { AppError, bearerToken, sendAppError, verifyCaller } from './app-caller.js';

export const waiverBodySchema = z
  .object({
    sessionId: z.uuid().optional(),
    customerId: z.uuid().optional(),
    sessionType: z.enum(['free', 'paid']).default('free'),
    metadata: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export type WaiverBody = z.infer<typeof waiverBodySchema>;

export interface WaiverResponse {
  assignmentId: string;
  sessionId: string;
  broadcast: 'ok' | 'failed';
  createdAt: string;
}

const SERVICE_CLAIMS = { role: 'service_role', iss: 'supabase-demo' };

export function registerWaiverRoute(
  app: FastifyInstance,
  ctx: TargetContext,
  broadcast: AssignmentBroadcaster,
): void {
  app.post('/api/waiver', async (request, reply) => {
    try {
      // Customers post with their session; a token that is sent must be valid.
      const token = bearerToken(request);
      if (token !== undefined) await verifyCaller(ctx.keys, token);
      const parsed = waiverBodySchema.safeParse(request.body ?? {});
      if (!parsed.success) {
        const issues = parsed.error.issues.map((issue) => ({
          path: issue.path.join('.') || '(body)',
          message: issue.message,
        }));
        throw new AppError(
          400,
          'invalid_body',
          `invalid waiver body: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}. ` +
            'Send JSON like {"sessionId"?: uuid, "customerId"?: uuid, "sessionType"?: "free"|"paid", "metadata"?: {}}',
          issues,
        );
      }
      const body = parsed.data;
      // The app writes with its service-role client (supabaseAdmin), so this runs as service_role.
      const created = await runAsRole(
        ctx.db.adminPool,
        { role: 'service_role', claims: SERVICE_CLAIMS, method: 'POST', path: '/api/waiver' },
        async (client) => {
          // Two statements on purpose: after waiting out a concurrent insert of the same session,
          // only a new statement's snapshot sees that row.
          const inserted = await client.query<{ id: string }>(
            `insert into public.sessions (id, customer_id, type)
             values (coalesce($1::uuid, gen_random_uuid()), $2, $3)
             on conflict (id) do nothing
             returning id`,
            [body.sessionId ?? null, body.customerId ?? null, body.sessionType],
          );
          const sessionId =
            inserted.rows[0]?.id ??
            (
              await client.query<{ id: string }>('select id from public.sessions where id = $1', [
                body.sessionId,
              ])
            ).rows[0]?.id;
          if (!sessionId) throw new Error('creating the session returned no id');
          const assignment = await client.query<{ id: string; status: string; created_at: string }>(
            `insert into public.session_assignments (session_id, status, offered_at, metadata)
             values ($1, 'queued', now(), $2::jsonb)
             returning id, status, to_json(created_at) #>> '{}' as created_at`,
            [sessionId, JSON.stringify(body.metadata)],
          );
          const row = assignment.rows[0];
          if (!row) throw new Error('inserting the assignment returned no row');
          return { sessionId, assignmentId: row.id, status: row.status, createdAt: row.created_at };
        },
      );

      let broadcastOutcome: WaiverResponse['broadcast'] = 'ok';
      try {
        await broadcast('new_assignment', {
          assignmentId: created.assignmentId,
          sessionId: created.sessionId,
          status: created.status,
          createdAt: created.createdAt,
          metadata: body.metadata,
        });
      } catch (error) {
        broadcastOutcome = 'failed';
        ctx.logger.warn("Don't fail if broadcast fails - postgres_changes is the fallback", {
          assignmentId: created.assignmentId,
          error: error instanceof Error ? error.message : String(error),
        });
      }
      const response: WaiverResponse = {
        assignmentId: created.assignmentId,
        sessionId: created.sessionId,
        broadcast: broadcastOutcome,
        createdAt: created.createdAt,
      };
      return reply.status(201).send(response);
    } catch (error) {
      return sendAppError(reply, error);
    }
  });
}
