/**
 * GET /: the live status page, with a fresh nonce and a strict Content-Security-Policy per response.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { renderStatusPage, statusPageContentSecurityPolicy } from './status-page.js';

export async function pageRoutes(app: FastifyInstance): Promise<void> {
  app.get('/', async (_request, reply) => {
    const nonce = randomBytes(16).toString('base64');
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', statusPageContentSecurityPolicy(nonce))
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-store')
      .send(renderStatusPage({ nonce }));
  });
}
