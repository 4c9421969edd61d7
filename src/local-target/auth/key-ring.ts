/**
 * The target's one token verifier and the keys it trusts. Every component (REST, the Realtime
 * gateway, the app endpoints, /auth/v1) calls `verify()`, so a token is accepted or refused the
 * same way everywhere:
 *
 * - `sb_publishable_…` / `sb_secret_…` API keys stand for the anon / service_role role, the way
 *   Supabase's API gateway swaps them for a role token;
 * - ES256 tokens are checked against the signing key named by their `kid` (current, standby or
 *   previously used; a revoked or unknown kid is refused);
 * - HS256 tokens are checked against the legacy secret while it exists and is not revoked;
 * - anything else (alg `none`, other algorithms) is refused.
 *
 * Failures are KeyErrors carrying Supabase Realtime's wording plus a short reason that the other
 * components map to their own error shapes and that `target_auth_tokens_refused_total` counts.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT, decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import { CanaryError } from '../../shared/index.js';
import type { JwtClaims, KeyRing } from '../components.js';
import { createSigningKeys, type JwtMode, type SigningKeyStore } from './signing-keys.js';

export type KeyErrorKind = 'expired' | 'malformed' | 'signature' | 'claims';

/** Why a token was refused, finer than the kind (metrics label, Auth / PostgREST wording). */
export type RefusalReason =
  | 'malformed'
  | 'alg_none'
  | 'alg_not_allowed'
  | 'unknown_key'
  | 'revoked_key'
  | 'bad_signature'
  | 'expired'
  | 'claims_missing'
  | 'api_key_unknown';

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
  readonly reason: RefusalReason;
  /** The token header's alg and kid, when it had a readable header. */
  readonly header: { alg?: string; kid?: string };

  constructor(
    kind: KeyErrorKind,
    message: string,
    secondsSinceExpiry?: number,
    reason?: RefusalReason,
    header: { alg?: string; kid?: string } = {},
  ) {
    super(message);
    this.name = 'KeyError';
    this.kind = kind;
    this.secondsSinceExpiry = secondsSinceExpiry;
    this.reason = reason ?? DEFAULT_REASONS[kind];
    this.header = header;
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

const DEFAULT_REASONS: Record<KeyErrorKind, RefusalReason> = {
  expired: 'expired',
  malformed: 'malformed',
  signature: 'bad_signature',
  claims: 'claims_missing',
};

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
const DEFAULT_USER_TOKEN_SECONDS = 3600;

/** Which component asked, for `target_auth_tokens_refused_total{component}`. */
export type TokenComponent = 'rest' | 'realtime' | 'app' | 'auth' | 'broadcast' | 'other';

export interface KeyRingOptions {
  /** legacy: HS256 only; asymmetric: ES256 only; both (default): ES256 signs, HS256 still verifies. */
  mode?: JwtMode;
  /** HS256 secret; omitted → a random per-run secret (none at all in `asymmetric` mode). */
  secret?: string;
  /** Project ref put in the API keys. */
  ref?: string;
  /** `iss` of user tokens (Supabase Auth uses `<url>/auth/v1`); a function when known only later. */
  userIssuer?: string | (() => string);
  now?: () => number;
  /** Called for every refused token (metrics). */
  onRefused?: (component: TokenComponent, reason: RefusalReason) => void;
}

export function generateJwtSecret(): string {
  return randomBytes(48).toString('base64url');
}

/** `sb_publishable_…` / `sb_secret_…`: a random body and a short checksum, like Supabase's keys. */
function generateApiKey(prefix: 'sb_publishable_' | 'sb_secret_'): string {
  const body = randomBytes(16).toString('base64url').replace(/[-_]/g, 'x');
  const check = randomBytes(4).toString('hex');
  return `${prefix}${body}_${check}`;
}

export type ApiKeyKind = 'publishable' | 'secret' | 'legacy_anon' | 'legacy_service_role';

export interface LocalKeyRing extends KeyRing {
  /** Sign arbitrary claims with the current signing key (tests mint odd tokens with it). */
  sign(claims: Record<string, unknown>): Promise<string>;
  readonly signingKeys: SigningKeyStore;
}

export async function createKeyRing(options: KeyRingOptions = {}): Promise<LocalKeyRing> {
  const mode = options.mode ?? 'both';
  if (mode === 'asymmetric' && options.secret !== undefined) {
    throw new CanaryError('CLI_USAGE', 'a JWT secret was given but the JWT mode is asymmetric', {
      hint: 'drop --jwt-secret, or use --jwt-mode both (or legacy) to keep an HS256 secret',
    });
  }
  const secret = mode === 'asymmetric' ? undefined : (options.secret ?? generateJwtSecret());
  if (secret !== undefined && secret.length < MIN_SECRET_LENGTH) {
    throw new CanaryError('CLI_USAGE', `the JWT secret is ${secret.length} characters long`, {
      hint: `use a secret of at least ${MIN_SECRET_LENGTH} characters (Supabase requires it), or omit it for a random one`,
    });
  }
  const store = await createSigningKeys({ mode, secret });
  const ref = options.ref ?? 'canary-local';
  const nowSeconds = (): number => Math.floor((options.now?.() ?? Date.now()) / 1000);

  const sign = (claims: Record<string, unknown>): Promise<string> => {
    const current = store.current();
    const header =
      current.algorithm === 'HS256'
        ? { alg: 'HS256', typ: 'JWT' }
        : { alg: 'ES256', kid: current.kid, typ: 'JWT' };
    return new SignJWT(claims).setProtectedHeader(header).sign(current.key);
  };

  const legacyKey = (role: 'anon' | 'service_role'): Promise<string> =>
    new SignJWT({ iss: 'supabase-demo', ref, role, iat: nowSeconds(), exp: API_KEY_EXPIRY })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .sign(new TextEncoder().encode(secret));

  const [legacyAnonKey, legacyServiceRoleKey] =
    secret === undefined
      ? [undefined, undefined]
      : await Promise.all([legacyKey('anon'), legacyKey('service_role')]);
  const publishableKey = generateApiKey('sb_publishable_');
  const secretKey = generateApiKey('sb_secret_');
  const apiKeyRoles = new Map<string, 'anon' | 'service_role'>([
    [publishableKey, 'anon'],
    [secretKey, 'service_role'],
  ]);

  const refused = (component: TokenComponent, error: KeyError): KeyError => {
    options.onRefused?.(component, error.reason);
    return error;
  };

  return {
    jwtMode: mode,
    secret,
    anonKey: legacyAnonKey ?? publishableKey,
    serviceRoleKey: legacyServiceRoleKey ?? secretKey,
    legacyAnonKey,
    legacyServiceRoleKey,
    publishableKey,
    secretKey,
    signingKeys: store,
    sign,
    apiKeyKind(key) {
      if (key === publishableKey) return 'publishable';
      if (key === secretKey) return 'secret';
      if (legacyAnonKey !== undefined && key === legacyAnonKey) return 'legacy_anon';
      if (legacyServiceRoleKey !== undefined && key === legacyServiceRoleKey) return 'legacy_service_role';
      return null;
    },
    mintUserToken(userId, mintOptions = {}) {
      const iat = nowSeconds();
      return sign({
        aud: 'authenticated',
        iss:
          typeof options.userIssuer === 'function'
            ? options.userIssuer()
            : (options.userIssuer ?? 'supabase-demo'),
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
    async verify(token, component = 'other') {
      if (typeof token === 'string' && token.startsWith('sb_')) {
        const role = apiKeyRoles.get(token);
        if (role === undefined) {
          throw refused(
            component,
            new KeyError('malformed', KEY_ERROR_MESSAGES.malformed, undefined, 'api_key_unknown'),
          );
        }
        return { iss: 'supabase', ref, role, iat: nowSeconds(), exp: API_KEY_EXPIRY };
      }
      try {
        return await verifyToken(store, token, nowSeconds);
      } catch (error) {
        if (isKeyError(error)) throw refused(component, error);
        throw error;
      }
    },
  };
}

async function verifyToken(
  store: SigningKeyStore,
  token: string,
  nowSeconds: () => number,
): Promise<JwtClaims> {
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
  const seen = {
    alg: typeof header.alg === 'string' ? header.alg : undefined,
    kid: typeof header.kid === 'string' ? header.kid : undefined,
  };
  const signatureError = (reason: RefusalReason): KeyError =>
    new KeyError('signature', KEY_ERROR_MESSAGES.signature, undefined, reason, seen);
  if (seen.alg === undefined || seen.alg.toLowerCase() === 'none') throw signatureError('alg_none');
  const found = store.lookup(seen.alg, seen.kid);
  if (!found.ok) throw signatureError(found.reason);
  const now = nowSeconds();
  try {
    await jwtVerify(token, found.key, { algorithms: [found.algorithm], currentDate: new Date(now * 1000) });
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) {
      const seconds = typeof unverified.exp === 'number' ? now - unverified.exp : 0;
      throw new KeyError('expired', KEY_ERROR_MESSAGES.expired(seconds), seconds, 'expired', seen);
    }
    if (error instanceof joseErrors.JWTClaimValidationFailed) {
      throw new KeyError('claims', KEY_ERROR_MESSAGES.claims, undefined, 'claims_missing', seen);
    }
    if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid) {
      throw new KeyError('malformed', KEY_ERROR_MESSAGES.malformed, undefined, 'malformed', seen);
    }
    throw signatureError('bad_signature');
  }
  const { role, exp, iat } = unverified;
  if (typeof role !== 'string' || role === '' || typeof exp !== 'number') {
    throw new KeyError('claims', KEY_ERROR_MESSAGES.claims, undefined, 'claims_missing', seen);
  }
  if (iat !== undefined && typeof iat !== 'number') {
    throw new KeyError('claims', KEY_ERROR_MESSAGES.claims, undefined, 'claims_missing', seen);
  }
  if (exp <= now) {
    const seconds = now - exp;
    throw new KeyError('expired', KEY_ERROR_MESSAGES.expired(seconds), seconds, 'expired', seen);
  }
  return { ...unverified, role, exp } as JwtClaims;
}
