/**
 * `/auth/v1`, answering as Supabase Auth (behind Supabase's API gateway) does:
 *
 *   POST   /auth/v1/token?grant_type=password        email (or phone) + password → session
 *   POST   /auth/v1/token?grant_type=refresh_token   rotates the refresh token → session
 *   GET    /auth/v1/user                             the signed-in user
 *   POST   /auth/v1/logout?scope=global|local|others  ends sessions (204)
 *   POST   /auth/v1/admin/users                      create a user (secret / service_role key)
 *   GET    /auth/v1/admin/users?page&per_page        list users
 *   GET    /auth/v1/admin/users/:id                  one user
 *   DELETE /auth/v1/admin/users/:id                  delete a user
 *   GET    /auth/v1/.well-known/jwks.json            public signing keys (no API key needed)
 *
 * Every route but the JWKS needs an `apikey` (the gateway's check). Errors are GoTrue's: status,
 * `x-sb-error-code` header and `{code, error_code, msg}` — or `{code, message}` with the
 * `X-Supabase-Api-Version: 2024-01-01` header supabase-js sends. Bodies over 1 MB, bad JSON and
 * wrong field types get GoTrue's `request_entity_too_large` / `bad_json`, never a 500.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TargetContext } from '../components.js';
import { checkApiKey, headerValue } from './api-key-gate.js';
import { AuthError, type AuthService, type RequestInfo } from './auth-service.js';

export const AUTH_PREFIX = '/auth/v1';
export const JWKS_PATH = '/.well-known/jwks.json';
const BODY_LIMIT_BYTES = 1 << 20;
const API_VERSION_HEADER = 'x-supabase-api-version';
const API_VERSION_2024 = '2024-01-01';

function bearerOf(request: FastifyRequest): string | undefined {
  const authorization = headerValue(request.headers, 'authorization');
  return authorization?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim();
}

function usesApiVersion2024(request: FastifyRequest): boolean {
  const value = headerValue(request.headers, API_VERSION_HEADER);
  if (!value || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  return value >= API_VERSION_2024;
}

function sendAuthError(request: FastifyRequest, reply: FastifyReply, error: AuthError): FastifyReply {
  void reply.status(error.status).header('Content-Type', 'application/json; charset=utf-8');
  if (error.extra.oauth) return reply.send(error.extra.oauth);
  void reply.header('x-sb-error-code', error.errorCode);
  const weak = error.extra.weakPassword ? { weak_password: error.extra.weakPassword } : {};
  if (usesApiVersion2024(request)) {
    void reply.header('X-Supabase-Api-Version', API_VERSION_2024);
    return reply.send({ code: error.errorCode, message: error.message, ...weak });
  }
  return reply.send({ code: error.status, error_code: error.errorCode, msg: error.message, ...weak });
}

type FieldType = 'string' | 'boolean' | 'object';

/** Parses a JSON body and checks field types, failing with GoTrue's `bad_json`. */
function readBody(raw: unknown, fields: Record<string, FieldType>, target: string): Record<string, unknown> {
  const text = typeof raw === 'string' ? raw : '';
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const detail = text.trim() === '' ? 'unexpected end of JSON input' : (error as Error).message;
    throw new AuthError(400, 'bad_json', `Could not parse request body as JSON: ${detail}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
    if (kind !== 'null') {
      throw new AuthError(
        400,
        'bad_json',
        `Could not parse request body as JSON: json: cannot unmarshal ${kind} into Go value of type api.${target}`,
      );
    }
    return {};
  }
  const body = value as Record<string, unknown>;
  for (const [name, type] of Object.entries(fields)) {
    const field = body[name];
    if (field === undefined || field === null) continue;
    const ok = type === 'object' ? typeof field === 'object' && !Array.isArray(field) : typeof field === type;
    if (!ok) {
      const kind = Array.isArray(field) ? 'array' : typeof field === 'object' ? 'object' : typeof field;
      throw new AuthError(
        400,
        'bad_json',
        `Could not parse request body as JSON: json: cannot unmarshal ${kind} into Go struct field ${target}.${name} of type ${type === 'object' ? 'map[string]interface {}' : type === 'boolean' ? 'bool' : 'string'}`,
      );
    }
  }
  return body;
}

function requestInfo(request: FastifyRequest): RequestInfo {
  const forwarded = headerValue(request.headers, 'x-forwarded-for')?.split(',')[0]?.trim();
  return { address: forwarded || request.ip, userAgent: headerValue(request.headers, 'user-agent') };
}

function positiveInt(value: unknown, fallback: number): number {
  const parsed = typeof value === 'string' ? Number(value) : NaN;
  return Number.isInteger(parsed) && parsed > 0 ? parsed : fallback;
}

export async function registerAuthRoutes(
  app: FastifyInstance,
  ctx: TargetContext,
  service: AuthService,
): Promise<void> {
  await app.register(
    async (auth) => {
      // Auth reads its own bodies: bad JSON and oversize bodies answer in GoTrue's words.
      auth.removeAllContentTypeParsers();
      auth.addContentTypeParser(
        '*',
        { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES },
        (_request, body, done) => done(null, body),
      );

      const fail = (
        grant: string,
        request: FastifyRequest,
        reply: FastifyReply,
        error: unknown,
      ): FastifyReply => {
        if (error instanceof AuthError) {
          ctx.metrics.authFailures.inc({ grant, reason: error.errorCode });
          return sendAuthError(request, reply, error);
        }
        ctx.logger.error('auth request failed', {
          error: error instanceof Error ? error.message : String(error),
        });
        ctx.metrics.authFailures.inc({ grant, reason: 'unexpected_failure' });
        return sendAuthError(
          request,
          reply,
          new AuthError(
            500,
            'unexpected_failure',
            'Unexpected failure, please check server logs for more information',
          ),
        );
      };

      auth.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
        if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || error.statusCode === 413) {
          return fail(
            'request',
            request,
            reply,
            new AuthError(
              413,
              'request_entity_too_large',
              `Request body too large (max ${BODY_LIMIT_BYTES} bytes)`,
            ),
          );
        }
        if (error.statusCode !== undefined && error.statusCode < 500) {
          return fail('request', request, reply, new AuthError(error.statusCode, 'bad_json', error.message));
        }
        return fail('request', request, reply, error);
      });

      auth.get(JWKS_PATH, async (_request, reply) => {
        void reply.header('Cache-Control', 'public, max-age=600');
        return ctx.keys.signingKeys.jwks();
      });

      /** The API gateway in front of Auth: an apikey is required; secret keys not from browsers. */
      const gateway = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
        const query = request.query as Record<string, unknown> | undefined;
        const apiKey =
          headerValue(request.headers, 'apikey') ??
          (typeof query?.apikey === 'string' ? query.apikey : undefined);
        const verdict = await checkApiKey(
          ctx.keys,
          apiKey,
          headerValue(request.headers, 'user-agent'),
          'auth',
        );
        if (verdict.ok) return;
        const { refusal } = verdict;
        ctx.metrics.authFailures.inc({ grant: 'gateway', reason: refusal.reason });
        if (refusal.errorCode !== null) void reply.header('sb-error-code', refusal.errorCode);
        await reply.status(refusal.status).send({ message: refusal.message, hint: refusal.hint });
      };

      /** Authorization bearer, or — as the gateway does for the new keys — the sb_ apikey itself. */
      const bearerOrApiKey = (request: FastifyRequest): string | undefined => {
        const bearer = bearerOf(request);
        if (bearer !== undefined) return bearer;
        const apiKey = headerValue(request.headers, 'apikey');
        return apiKey?.startsWith('sb_') ? apiKey : undefined;
      };

      auth.post('/token', { preHandler: gateway }, async (request, reply) => {
        const grantType = (request.query as Record<string, unknown>).grant_type;
        const grant = typeof grantType === 'string' ? grantType : 'none';
        try {
          if (grant === 'password') {
            const body = readBody(
              request.body,
              { email: 'string', phone: 'string', password: 'string' },
              'PasswordGrantParams',
            );
            return await service.signInWithPassword(
              body as { email?: string; phone?: string; password?: string },
              requestInfo(request),
            );
          }
          if (grant === 'refresh_token') {
            const body = readBody(request.body, { refresh_token: 'string' }, 'RefreshTokenGrantParams');
            return await service.refresh(body.refresh_token as string | undefined, requestInfo(request));
          }
          throw new AuthError(400, 'invalid_credentials', 'unsupported_grant_type');
        } catch (error) {
          return fail(
            grant === 'password' || grant === 'refresh_token' ? grant : 'unsupported',
            request,
            reply,
            error,
          );
        }
      });

      auth.get('/user', { preHandler: gateway }, async (request, reply) => {
        try {
          return await service.currentUser(bearerOf(request));
        } catch (error) {
          return fail('user', request, reply, error);
        }
      });

      auth.post('/logout', { preHandler: gateway }, async (request, reply) => {
        try {
          const scope = (request.query as Record<string, unknown>).scope;
          await service.logout(bearerOf(request), typeof scope === 'string' ? scope : undefined);
          return reply.status(204).send();
        } catch (error) {
          return fail('logout', request, reply, error);
        }
      });

      auth.post('/admin/users', { preHandler: gateway }, async (request, reply) => {
        try {
          await service.requireAdmin(bearerOrApiKey(request));
          const body = readBody(
            request.body,
            {
              email: 'string',
              phone: 'string',
              password: 'string',
              email_confirm: 'boolean',
              phone_confirm: 'boolean',
              user_metadata: 'object',
              app_metadata: 'object',
            },
            'AdminUserParams',
          );
          return await service.createUser(body);
        } catch (error) {
          return fail('admin', request, reply, error);
        }
      });

      auth.get('/admin/users', { preHandler: gateway }, async (request, reply) => {
        try {
          await service.requireAdmin(bearerOrApiKey(request));
          const query = request.query as Record<string, unknown>;
          const page = positiveInt(query.page, 1);
          const perPage = Math.min(positiveInt(query.per_page, 50), 1000);
          const { users, total } = await service.listUsers(page, perPage);
          const base = `${AUTH_PREFIX}/admin/users`;
          const links: string[] = [];
          const last = Math.max(1, Math.ceil(total / perPage));
          if (page < last) links.push(`<${base}?page=${page + 1}&per_page=${perPage}>; rel="next"`);
          links.push(`<${base}?page=${last}&per_page=${perPage}>; rel="last"`);
          void reply.header('X-Total-Count', String(total)).header('Link', links.join(', '));
          return { users, aud: 'authenticated' };
        } catch (error) {
          return fail('admin', request, reply, error);
        }
      });

      auth.get('/admin/users/:id', { preHandler: gateway }, async (request, reply) => {
        try {
          await service.requireAdmin(bearerOrApiKey(request));
          return await service.getUser((request.params as { id: string }).id);
        } catch (error) {
          return fail('admin', request, reply, error);
        }
      });

      auth.delete('/admin/users/:id', { preHandler: gateway }, async (request, reply) => {
        try {
          await service.requireAdmin(bearerOrApiKey(request));
          await service.deleteUser((request.params as { id: string }).id);
          return {};
        } catch (error) {
          return fail('admin', request, reply, error);
        }
      });
    },
    { prefix: AUTH_PREFIX },
  );
}
