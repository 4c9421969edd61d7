/**
 * Who is calling an app endpoint: the bearer token (a mechanic's access token, or an API key),
 * verified with the target's key ring. App errors are `{ error, message }` JSON, like a Next.js
 * route handler would answer.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { JwtClaims, KeyRing } from '../components.js';
import { isApiRole, type ApiRole } from '../database/index.js';
import { isKeyError } from '../keys.js';

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
    readonly issues?: { path: string; message: string }[],
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export interface AppCaller {
  role: ApiRole;
  claims: JwtClaims;
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  return header?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim();
}

/** Verifies `token`; a missing or bad one is a 401 that says what to send. */
export async function verifyCaller(keys: KeyRing, token: string | undefined): Promise<AppCaller> {
  if (!token) {
    throw new AppError(
      401,
      'unauthorized',
      'send the mechanic access token as Authorization: Bearer <token>',
    );
  }
  try {
    const claims = await keys.verify(token, 'app');
    if (!isApiRole(claims.role))
      throw new AppError(401, 'unauthorized', `role ${claims.role} is not allowed`);
    return { role: claims.role, claims };
  } catch (error) {
    if (error instanceof AppError) throw error;
    const reason = isKeyError(error) ? error.message : 'the token could not be verified';
    throw new AppError(401, 'unauthorized', reason);
  }
}

export function sendAppError(reply: FastifyReply, error: unknown): FastifyReply {
  if (error instanceof AppError) {
    return reply.status(error.status).send({
      error: error.error,
      message: error.message,
      ...(error.issues ? { issues: error.issues } : {}),
    });
  }
  throw error;
}
