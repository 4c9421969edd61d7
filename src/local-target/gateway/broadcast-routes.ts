/**
 * Realtime's REST broadcast API: `POST /realtime/v1/api/broadcast` (batch; what `send()` falls back
 * to and what the app's waiver step calls with the service-role key) and
 * `POST /realtime/v1/api/broadcast/:topic/events/:event` (`httpSend()`). Answers with Supabase's
 * statuses and bodies, and applies the `restBroadcast` fault before answering.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { API_KEY_REFUSALS, isBrowserUserAgent } from '../auth/api-key-gate.js';
import type { JwtClaims, TargetContext } from '../components.js';
import type { BroadcastBody } from './frame-codec.js';
import type { RateWindow } from './rate-window.js';

export interface BroadcastPublisher {
  readonly ctx: TargetContext;
  readonly messageWindow: RateWindow;
  publish(channel: string, event: string, body: BroadcastBody, isPrivate: boolean): number;
}

interface ValidMessage {
  topic: string;
  event: string;
  payload: unknown;
  isPrivate: boolean;
}

const UNSUPPORTED_MEDIA = 'Unsupported Media Type. Use application/json or application/octet-stream';

function bearerOrApiKey(request: FastifyRequest): string | null {
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string' && /^bearer\s+/i.test(authorization)) {
    const token = authorization.replace(/^bearer\s+/i, '').trim();
    if (token !== '') return token;
  }
  const apikey = request.headers.apikey;
  if (typeof apikey === 'string' && apikey !== '') return apikey;
  const query = request.query as Record<string, unknown> | undefined;
  return typeof query?.apikey === 'string' && query.apikey !== '' ? query.apikey : null;
}

/** Private messages need a role that may write to private channels (no anon), like the write policy. */
function mayWritePrivate(claims: JwtClaims): boolean {
  return claims.role !== 'anon';
}

export async function registerBroadcastRoutes(
  app: FastifyInstance,
  publisher: BroadcastPublisher,
): Promise<void> {
  const { ctx } = publisher;

  async function authorise(request: FastifyRequest, reply: FastifyReply): Promise<JwtClaims | null> {
    const token = bearerOrApiKey(request);
    if (token === null) {
      ctx.metrics.refusals.inc({ stage: 'rest_broadcast', reason: 'unauthorized' });
      await reply.code(401).send({ message: 'Unauthorized' });
      return null;
    }
    const apiKey = typeof request.headers.apikey === 'string' ? request.headers.apikey : token;
    if (ctx.keys.apiKeyKind(apiKey) === 'secret' && isBrowserUserAgent(request.headers['user-agent'])) {
      ctx.metrics.refusals.inc({ stage: 'rest_broadcast', reason: 'secret_key_in_browser' });
      await reply.code(401).send({ message: API_KEY_REFUSALS.browser.message });
      return null;
    }
    try {
      return await ctx.keys.verify(token, 'broadcast');
    } catch {
      ctx.metrics.refusals.inc({ stage: 'rest_broadcast', reason: 'unauthorized' });
      await reply.code(401).send({ message: 'Unauthorized' });
      return null;
    }
  }

  /** Rate limit, then the restBroadcast fault. Returns false once it has answered. */
  async function admit(count: number, reply: FastifyReply): Promise<boolean> {
    let rate = 0;
    for (let index = 0; index < count; index++) rate = publisher.messageWindow.hit();
    if (rate > ctx.limits.maxMessagesPerSecond) {
      ctx.metrics.refusals.inc({ stage: 'rest_broadcast', reason: 'too_many_messages' });
      await reply.code(429).send({ message: 'Too many requests' });
      return false;
    }
    const fault = ctx.faults.current.restBroadcast;
    const delayMs = ctx.faults.sampleDelay(fault);
    if (delayMs > 0) {
      ctx.faults.record('delay', 'rest_broadcast');
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
    if (ctx.faults.roll(fault.failRate)) {
      ctx.faults.record('rest_broadcast_fail', 'rest_broadcast');
      await reply.code(500).send({ message: 'Internal server error (injected restBroadcast fault)' });
      return false;
    }
    return true;
  }

  function payloadTooLarge(payload: unknown): boolean {
    const bytes =
      payload instanceof Buffer ? payload.length : Buffer.byteLength(JSON.stringify(payload ?? null));
    return bytes > ctx.limits.maxBroadcastPayloadBytes;
  }

  await app.register(async (scope) => {
    // Scoped to these routes: raw bytes for httpSend() binary payloads, and a named 415 for the rest.
    scope.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_request, body, done) =>
      done(null, body),
    );
    scope.addContentTypeParser('*', (_request, _payload, done) => {
      const error = new Error(UNSUPPORTED_MEDIA) as Error & { statusCode: number };
      error.statusCode = 415;
      done(error, undefined);
    });
    scope.setErrorHandler(async (error: Error & { statusCode?: number }, _request, reply) => {
      const status = error.statusCode ?? 500;
      ctx.metrics.protocolErrors.inc({ kind: status === 415 ? 'rest_media_type' : 'rest_body' });
      if (status === 415) return reply.code(415).send({ error: UNSUPPORTED_MEDIA });
      if (status >= 400 && status < 500) return reply.code(status).send({ message: error.message });
      ctx.logger.warn('rest broadcast failed', { error: error.message });
      return reply.code(500).send({ message: 'Internal server error' });
    });

    scope.post('/realtime/v1/api/broadcast', async (request, reply) => {
      const claims = await authorise(request, reply);
      if (claims === null) return reply;
      const body = request.body as { messages?: unknown } | null | undefined;
      const rawMessages = body && typeof body === 'object' ? body.messages : undefined;
      if (!Array.isArray(rawMessages) || rawMessages.length === 0) {
        ctx.metrics.protocolErrors.inc({ kind: 'rest_changeset' });
        return reply.code(422).send({ errors: { messages: ["can't be blank"] } });
      }
      const valid: ValidMessage[] = [];
      const errors: Record<string, string[]>[] = [];
      let invalid = false;
      for (const raw of rawMessages) {
        const message = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
        const messageErrors: Record<string, string[]> = {};
        for (const field of ['topic', 'event'] as const) {
          if (typeof message[field] !== 'string' || message[field] === '')
            messageErrors[field] = ["can't be blank"];
        }
        if (message.payload === undefined || message.payload === null)
          messageErrors.payload = ["can't be blank"];
        else if (payloadTooLarge(message.payload))
          messageErrors.payload = ['Payload size exceeds tenant limit'];
        errors.push(messageErrors);
        if (Object.keys(messageErrors).length > 0) {
          invalid = true;
          continue;
        }
        valid.push({
          topic: message.topic as string,
          event: message.event as string,
          payload: message.payload,
          isPrivate: message.private === true,
        });
      }
      if (invalid) {
        ctx.metrics.protocolErrors.inc({ kind: 'rest_changeset' });
        return reply.code(422).send({ errors: { messages: errors } });
      }
      if (!(await admit(valid.length, reply))) return reply;
      for (const message of valid) {
        // Private messages the caller may not write are skipped silently, like Supabase.
        if (message.isPrivate && !mayWritePrivate(claims)) continue;
        publisher.publish(message.topic, message.event, { json: message.payload }, message.isPrivate);
        ctx.metrics.deliveries.inc({ path: 'rest_broadcast' });
      }
      return reply.code(202).send();
    });

    scope.post<{ Params: { topic: string; event: string }; Querystring: { private?: string } }>(
      '/realtime/v1/api/broadcast/:topic/events/:event',
      async (request, reply) => {
        const mediaType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        if (mediaType !== 'application/json' && mediaType !== 'application/octet-stream') {
          ctx.metrics.protocolErrors.inc({ kind: 'rest_media_type' });
          return reply.code(415).send({ error: UNSUPPORTED_MEDIA });
        }
        const claims = await authorise(request, reply);
        if (claims === null) return reply;
        const { topic, event } = request.params;
        const payload: unknown = request.body;
        if (payload === undefined || payload === null || topic === '' || event === '') {
          ctx.metrics.protocolErrors.inc({ kind: 'rest_changeset' });
          return reply.code(422).send({ errors: { payload: ["can't be blank"] } });
        }
        if (payloadTooLarge(payload)) {
          ctx.metrics.protocolErrors.inc({ kind: 'payload_size_exceeded' });
          return reply.code(422).send({ errors: { payload: ['Payload size exceeds tenant limit'] } });
        }
        if (!(await admit(1, reply))) return reply;
        const isPrivate = request.query.private === 'true';
        if (!isPrivate || mayWritePrivate(claims)) {
          const body: BroadcastBody = payload instanceof Buffer ? { binary: payload } : { json: payload };
          publisher.publish(topic, event, body, isPrivate);
          ctx.metrics.deliveries.inc({ path: 'rest_broadcast' });
        }
        return reply.code(202).send();
      },
    );
  });
}
