/**
 * GET /api/mechanic/queue — the dashboard's polling fallback: the calling mechanic's takeable
 * assignments (queued, unassigned or already offered to them), newest first, read as that
 * mechanic so RLS applies. No-cache headers, unless the polling fault says to behave like a
 * CDN-cached API (stale snapshots, cacheable headers) or to answer late. Each served response is
 * one polling delivery in the target's metrics.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { sleep } from '../../shared/index.js';
import type { TargetContext } from '../components.js';
import { runAsRole } from '../database/index.js';
import { bearerToken, sendAppError, verifyCaller } from './app-caller.js';

export const QUEUE_LIMIT = 50;

interface Snapshot {
  body: string;
  takenAt: number;
}

/** Bound on cached snapshots so a stale-poll fault with many distinct callers cannot grow memory. */
const MAX_SNAPSHOTS = 10_000;

function setFreshHeaders(reply: FastifyReply): void {
  void reply
    .header('Cache-Control', 'no-store, no-cache, must-revalidate, max-age=0')
    .header('Pragma', 'no-cache')
    .header('Expires', '0');
}

export function registerQueueRoute(app: FastifyInstance, ctx: TargetContext): void {
  const snapshots = new Map<string, Snapshot>();

  app.get('/api/mechanic/queue', async (request, reply) => {
    try {
      const caller = await verifyCaller(ctx.keys, bearerToken(request));
      const polling = ctx.faults.current.polling;
      if (polling.delayMs > 0) {
        ctx.faults.record('delay', 'polling');
        await sleep(polling.delayMs);
      }
      const cacheKey = `${caller.role}:${String(caller.claims.sub ?? '')}`;
      const now = ctx.clock.now();
      let body: string;
      const cached = snapshots.get(cacheKey);
      if (polling.staleMs > 0 && cached && now - cached.takenAt < polling.staleMs) {
        body = cached.body;
        ctx.faults.record('stale_poll', 'polling');
      } else {
        body = await runAsRole(
          ctx.db.adminPool,
          { role: caller.role, claims: caller.claims, method: 'GET', path: '/api/mechanic/queue' },
          async (client) => {
            const result = await client.query<{ body: string }>(
              `select json_build_object(
                        'assignments', coalesce(json_agg(q order by q.created_at desc), '[]'::json),
                        'servedAt', to_json(now()) #>> '{}'
                      )::text as body
                 from (select a.id, a.session_id, a.mechanic_id, a.status, a.created_at, a.updated_at,
                              a.offered_at, a.metadata
                         from public.session_assignments a
                        where a.status = 'queued'
                          and (a.mechanic_id is null or a.mechanic_id = auth.uid())
                        order by a.created_at desc
                        limit $1) q`,
              [QUEUE_LIMIT],
            );
            return result.rows[0]?.body ?? '{"assignments":[]}';
          },
        );
        if (polling.staleMs > 0) {
          if (snapshots.size >= MAX_SNAPSHOTS) snapshots.clear();
          snapshots.set(cacheKey, { body, takenAt: now });
        } else snapshots.clear();
      }
      if (polling.cacheableHeaders) {
        const maxAge = Math.max(1, Math.round((polling.staleMs || 60_000) / 1000));
        void reply.header('Cache-Control', `public, max-age=${maxAge}`);
      } else setFreshHeaders(reply);
      ctx.metrics.deliveries.inc({ path: 'polling' });
      return reply.status(200).header('Content-Type', 'application/json; charset=utf-8').send(body);
    } catch (error) {
      setFreshHeaders(reply);
      return sendAppError(reply, error);
    }
  });
}
