/**
 * POST /api/mechanic/assignments/:id/accept — a mechanic takes a queued assignment. Like the app,
 * it writes with the service role after checking the caller is a mechanic; 409 once the
 * assignment is no longer queued (someone else took it, or it expired).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { TargetContext } from '../components.js';
import { runAsRole } from '../database/index.js';
import { AppError, bearerToken, sendAppError, verifyCaller } from './app-caller.js';

const idSchema = z.uuid();

export function registerAcceptRoute(app: FastifyInstance, ctx: TargetContext): void {
  app.post<{ Params: { id: string } }>('/api/mechanic/assignments/:id/accept', async (request, reply) => {
    try {
      const caller = await verifyCaller(ctx.keys, bearerToken(request));
      const id = idSchema.safeParse(request.params.id);
      if (!id.success) {
        throw new AppError(
          400,
          'invalid_id',
          `"${request.params.id}" is not an assignment id; use the uuid from the queue`,
        );
      }
      const subject = idSchema.safeParse(caller.claims.sub);
      const mechanicId = subject.success ? subject.data : undefined;
      const outcome = await runAsRole(
        ctx.db.adminPool,
        { role: 'service_role', claims: { role: 'service_role' }, method: 'POST', path: request.url },
        async (client) => {
          const mechanic = mechanicId
            ? await client
                .query('select 1 from public.mechanics where id = $1::uuid', [mechanicId])
                .catch(() => null)
            : null;
          if (!mechanic || mechanic.rowCount === 0) {
            throw new AppError(
              403,
              'forbidden',
              'only mechanics can accept assignments; use a mechanic access token',
            );
          }
          const updated = await client.query<{ body: string }>(
            `with taken as (
               update public.session_assignments
                  set status = 'accepted', accepted_at = now(), mechanic_id = $2
                where id = $1 and status = 'queued' and (mechanic_id is null or mechanic_id = $2)
                returning id, session_id, mechanic_id, status, accepted_at, updated_at
             )
             select row_to_json(taken)::text as body from taken`,
            [id.data, mechanicId],
          );
          if (updated.rows[0]) return updated.rows[0].body;
          const current = await client.query<{ status: string }>(
            'select status from public.session_assignments where id = $1',
            [id.data],
          );
          const status = current.rows[0]?.status;
          if (status === undefined)
            throw new AppError(404, 'not_found', `assignment ${id.data} does not exist`);
          throw new AppError(409, 'not_queued', `assignment ${id.data} is ${status}, no longer queued`);
        },
      );
      return reply.status(200).header('Content-Type', 'application/json; charset=utf-8').send(outcome);
    } catch (error) {
      return sendAppError(reply, error);
    }
  });
}
