/**
 * The target's JWTs: anon and service_role API keys shaped like a Supabase project's, user tokens
 * for mechanics, and verification that fails with Supabase's own wording so the gateway and the
 * REST layer can answer exactly like the real services.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT, decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import { CanaryError } from '../shared/index.js';
import type { JwtClaims, KeyRing } from './components.js';

export type KeyErrorKind = 'expired' | 'malformed' | 'signature' | 'claims';

/** Realtime's error code for each kind (join replies read `<code>: <message>`). */
const REALTIME_CODES: Record<KeyErrorKind, string> = {
  expired: 'InvalidJWTToken',
  claims: 'InvalidJWTToken',
  malformed: 'MalformedJWT',
  signature: 'JwtSignatureError',
};

/** A token that failed verification; `message` is Supabase Realtime's text for the failure. */
export class KeyError extends Error {
  readonly kind: KeyErrorKind;
  /** Seconds since `exp` (only for `expired`). */
  readonly secondsSinceExpiry: number | undefined;

  constructor(kind: KeyErrorKind, message: string, secondsSinceExpiry?: number) {
    super(message);
    this.name = 'KeyError';
    this.kind = kind;
    this.secondsSinceExpiry = secondsSinceExpiry;
  }

  /** Realtime's error code for this failure (InvalidJWTToken, MalformedJWT, JwtSignatureError). */
  get realtimeCode(): string {
    return REALTIME_CODES[this.kind];
  }

  /** The phx_join error reason, e.g. `InvalidJWTToken: Token has expired 5 seconds ago`. */
  get joinReason(): string {
    return `${this.realtimeCode}: ${this.message}`;
  }

  /** The `{"error": …}` text Realtime answers a refused websocket upgrade with. */
  get upgradeError(): string {
    return this.kind === 'expired' ? 'Token has expired' : this.message;
  }
}

export const KEY_ERROR_MESSAGES = {
  malformed: 'The token provided is not a valid JWT',
  signature: 'Failed to validate JWT signature',
  claims: 'Fields `role` and `exp` are required in JWT',
  expired: (seconds: number) => `Token has expired ${seconds} seconds ago`,
} as const;

export function isKeyError(error: unknown): error is KeyError {
  return error instanceof KeyError;
}

/** Supabase CLI projects are `iss: supabase-demo` with a far-future `exp`; ours are too. */
const API_KEY_EXPIRY = 1983812996;
const MIN_SECRET_LENGTH = 32;
const ACCEPTED_ALGORITHMS = ['HS256', 'HS384', 'HS512'];
const DEFAULT_USER_TOKEN_SECONDS = 3600;

export interface KeyRingOptions {
  /** HS256 secret; omitted → a random per-run secret. At least 32 characters, like Supabase. */
  secret?: string;
  /** Project ref put in the API keys. */
  ref?: string;
  /** `iss` of user tokens (Supabase Auth uses `<url>/auth/v1`). */
  userIssuer?: string;
  now?: () => number;
}

export function generateJwtSecret(): string {
  return randomBytes(48).toString('base64url');
}

export interface LocalKeyRing extends KeyRing {
  /** Sign arbitrary claims with the ring's secret (tests mint odd tokens with it). */
  sign(claims: Record<string, unknown>): Promise<string>;
}

export async function createKeyRing(options: KeyRingOptions = {}): Promise<LocalKeyRing> {
  const secret = options.secret ?? generateJwtSecret();
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new CanaryError('CLI_USAGE', `the JWT secret is ${secret.length} characters long`, {
      hint: `use a secret of at least ${MIN_SECRET_LENGTH} characters (Supabase requires it), or omit it for a random one`,
    });
  }
  const key = new TextEncoder().encode(secret);
  const ref = options.ref ?? 'canary-local';
  const nowSeconds = (): number => Math.floor((options.now?.() ?? Date.now()) / 1000);

  const sign = (claims: Record<string, unknown>): Promise<string> =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(key);

  const apiKey = (role: 'anon' | 'service_role'): Promise<string> =>
    sign({ iss: 'supabase-demo', ref, role, iat: nowSeconds(), exp: API_KEY_EXPIRY });

  const [anonKey, serviceRoleKey] = await Promise.all([apiKey('anon'), apiKey('service_role')]);

  return {
    secret,
    anonKey,
    serviceRoleKey,
    sign,
    mintUserToken(userId, mintOptions = {}) {
      const iat = nowSeconds();
      return sign({
        aud: 'authenticated',
        iss: options.userIssuer ?? 'supabase-demo',
        app_metadata: { provider: 'email', providers: ['email'] },
        user_metadata: {},
        aal: 'aal1',
        is_anonymous: false,
        ...mintOptions.claims,
        sub: userId,
        role: (mintOptions.claims?.role as string | undefined) ?? 'authenticated',
        iat,
        exp: iat + (mintOptions.expiresInSeconds ?? DEFAULT_USER_TOKEN_SECONDS),
      });
    },
    async verify(token) {
      return verifyToken(key, token, nowSeconds);
    },
  };
}

async function verifyToken(key: Uint8Array, token: string, nowSeconds: () => number): Promise<JwtClaims> {
  if (typeof token !== 'string' || token.split('.').length !== 3) {
    throw new KeyError('malformed', KEY_ERROR_MESSAGES.malformed);
  }
  let header: ReturnType<typeof decodeProtectedHeader>;
  let unverified: ReturnType<typeof decodeJwt>;
  try {
    header = decodeProtectedHeader(token);
    unverified = decodeJwt(token);
  } catch {
    throw new KeyError('malformed', KEY_ERROR_MESSAGES.malformed);
  }
  if (typeof header.alg !== 'string' || !ACCEPTED_ALGORITHMS.includes(header.alg)) {
    // alg "none" and asymmetric algorithms cannot be checked against the shared secret.
    throw new KeyError('signature', KEY_ERROR_MESSAGES.signature);
  }
  const now = nowSeconds();
  try {
    await jwtVerify(token, key, { algorithms: ACCEPTED_ALGORITHMS, currentDate: new Date(now * 1000) });
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) {
      const seconds = typeof unverified.exp === 'number' ? now - unverified.exp : 0;
      throw new KeyError('expired', KEY_ERROR_MESSAGES.expired(seconds), seconds);
    }
    if (error instanceof joseErrors.JWTClaimValidationFailed) {
      throw new KeyError('claims', KEY_ERROR_MESSAGES.claims);
    }
    if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid) {
      throw new KeyError('malformed', KEY_ERROR_MESSAGES.malformed);
    }
    throw new KeyError('signature', KEY_ERROR_MESSAGES.signature);
  }
  const { role, exp, iat } = unverified;
  if (typeof role !== 'string' || role === '' || typeof exp !== 'number') {
    throw new KeyError('claims', KEY_ERROR_MESSAGES.claims);
  }
  if (iat !== undefined && typeof iat !== 'number') {
    throw new KeyError('claims', KEY_ERROR_MESSAGES.claims);
  }
  if (exp <= now) {
    const seconds = now - exp;
    throw new KeyError('expired', KEY_ERROR_MESSAGES.expired(seconds), seconds);
  }
  return { ...unverified, role, exp } as JwtClaims;
}
