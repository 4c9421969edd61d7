/**
 * Who is calling the REST API: the `apikey` (checked like Supabase's API gateway) and the bearer
 * token (checked like PostgREST). Yields the role to switch to and the claims for
 * `request.jwt.claims`, or the exact error either layer would answer with.
 */
import type { FastifyRequest } from 'fastify';
import type { JwtClaims, KeyRing } from '../components.js';
import { isApiRole, type ApiRole } from '../database/index.js';
import { checkApiKey } from '../auth/api-key-gate.js';
import { isKeyError } from '../keys.js';
import { PostgrestError } from './postgrest-error.js';

/** Errors the gateway (Kong) answers before a request reaches PostgREST: `{message, hint}`. */
export class GatewayAuthError extends Error {
  constructor(
    message: string,
    readonly hint: string,
    /** Supabase's `sb-error-code` header for this refusal, when it sends one. */
    readonly errorCode: string | null = null,
  ) {
    super(message);
    this.name = 'GatewayAuthError';
  }

  toBody(): { message: string; hint: string } {
    return { message: this.message, hint: this.hint };
  }
}

export interface Caller {
  role: ApiRole;
  claims: JwtClaims;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function queryApiKey(request: FastifyRequest): string | undefined {
  const query = request.query as Record<string, unknown> | undefined;
  const value = query?.apikey;
  return typeof value === 'string' ? value : undefined;
}

function invalidToken(code: string, message: string): PostgrestError {
  return new PostgrestError(401, code, message, {
    headers: { 'WWW-Authenticate': `Bearer error="invalid_token", error_description="${message}"` },
  });
}

/** Verifies apikey then bearer token; throws GatewayAuthError or PostgrestError. */
export async function authenticate(request: FastifyRequest, keys: KeyRing): Promise<Caller> {
  const apiKey = header(request, 'apikey') ?? queryApiKey(request);
  const verdict = await checkApiKey(keys, apiKey, header(request, 'user-agent'), 'rest');
  if (!verdict.ok) {
    const { message, hint, errorCode } = verdict.refusal;
    throw new GatewayAuthError(message, hint, errorCode);
  }
  const authorization = header(request, 'authorization');
  const bearer = authorization?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim();
  const token = bearer ?? (apiKey as string);
  let claims: JwtClaims;
  try {
    claims = await keys.verify(token, 'rest');
  } catch (error) {
    if (isKeyError(error) && error.kind === 'expired') throw invalidToken('PGRST303', 'JWT expired');
    if (isKeyError(error) && error.kind === 'malformed') {
      throw invalidToken('PGRST301', `Expected 3 parts in JWT; got ${token.split('.').length}`);
    }
    if (isKeyError(error) && error.kind === 'claims') {
      throw invalidToken('PGRST301', 'JWT is missing the role or exp claim');
    }
    if (
      isKeyError(error) &&
      (error.reason === 'unknown_key' || error.reason === 'revoked_key' || error.reason === 'alg_not_allowed')
    ) {
      // PostgREST finds no JWK for the token's kid / alg in the keys it was given.
      throw invalidToken('PGRST301', 'No suitable key or wrong key type');
    }
    throw invalidToken('PGRST301', 'JWSError JWSInvalidSignature');
  }
  if (!isApiRole(claims.role)) {
    throw new PostgrestError(401, '22023', `role "${claims.role}" does not exist`);
  }
  return { role: claims.role, claims };
}
