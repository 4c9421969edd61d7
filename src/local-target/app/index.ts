/**
 * The marketplace app's endpoints the canary exercises, as the production app behaves after its
 * unifying fix: POST /api/waiver (create an assignment, broadcast new_assignment), GET
 * /api/mechanic/queue (polling fallback, subject to polling faults) and
 * POST /api/mechanic/assignments/:id/accept.
 */
import type { FastifyInstance } from 'fastify';
import type { AssignmentBroadcaster, TargetContext } from '../components.js';
import { registerAcceptRoute } from './accept-route.js';
import { registerQueueRoute } from './queue-route.js';
import { registerWaiverRoute } from './waiver-route.js';

export { waiverBodySchema, type WaiverBody, type WaiverResponse } from './waiver-route.js';
export { QUEUE_LIMIT } from './queue-route.js';

export interface AppRouteOptions {
  /** How new assignments are announced (the seed's broadcastSessionAssignment). */
  broadcast: AssignmentBroadcaster;
}

export function createAppRoutes(app: FastifyInstance, ctx: TargetContext, options: AppRouteOptions): void {
  registerWaiverRoute(app, ctx, options.broadcast);
  registerQueueRoute(app, ctx);
  registerAcceptRoute(app, ctx);
}
