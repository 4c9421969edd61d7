/**
 * Why a token was refused, in each of the three shapes Supabase Realtime uses: the HTTP upgrade
 * refusal body (`{"error": text}`), the join reply reason (`"<Code>: <text>"`) and the `system`
 * message that precedes `phx_close` (plain text). The key ring's errors carry Supabase's wording;
 * this maps them onto the codes and adds the "N seconds ago" detail for expired tokens.
 */

export type TokenFailureKind =
  'missing' | 'expired' | 'claims_missing' | 'malformed' | 'signature' | 'signer';

export interface TokenFailure {
  kind: TokenFailureKind;
  /** Supabase's text without a code (upgrade body, system message). */
  text: string;
  /** Join reply reason, `"<Code>: <text>"`. */
  joinReason: string;
  /** Short label for target_refusals_total{reason}. */
  reason: string;
}

const TEXTS = {
  missing: 'API key is missing',
  expired: 'Token has expired',
  claims_missing: 'Fields `role` and `exp` are required in JWT',
  malformed: 'The token provided is not a valid JWT',
  signature: 'Failed to validate JWT signature',
  signer: 'Failed to generate JWT signer, check your JWT secret or JWKS configuration',
} as const satisfies Record<TokenFailureKind, string>;

const CODES: Record<TokenFailureKind, string> = {
  missing: 'InvalidJWTToken',
  expired: 'InvalidJWTToken',
  claims_missing: 'InvalidJWTToken',
  malformed: 'MalformedJWT',
  signature: 'JwtSignatureError',
  signer: 'JwtSignatureError',
};

/** Read `exp` without verifying, only to say how long ago a refused token expired. */
export function unverifiedExpiry(token: string): number | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const claims = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    const exp = (claims as { exp?: unknown } | null)?.exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp : null;
  } catch {
    return null;
  }
}

export function expiredText(exp: number, nowMs: number): string {
  const secondsAgo = Math.max(0, Math.floor(nowMs / 1000 - exp));
  return `Token has expired ${secondsAgo} seconds ago`;
}

/** The key ring's KeyError kinds, read structurally so other KeyRing implementations still work. */
const KEY_ERROR_KINDS: Record<string, TokenFailureKind> = {
  expired: 'expired',
  claims: 'claims_missing',
  malformed: 'malformed',
  signature: 'signature',
};

function kindOfError(error: unknown): TokenFailureKind {
  const declared = (error as { kind?: unknown } | null)?.kind;
  if (typeof declared === 'string' && declared in KEY_ERROR_KINDS) return KEY_ERROR_KINDS[declared]!;
  return kindOf(error instanceof Error ? error.message : String(error));
}

function kindOf(message: string): TokenFailureKind {
  if (message.includes(TEXTS.expired) || /\bexp\b.*(claim|timestamp)/i.test(message)) return 'expired';
  if (message.includes(TEXTS.claims_missing)) return 'claims_missing';
  if (message.includes(TEXTS.signature) || /signature/i.test(message)) return 'signature';
  if (message.includes('JWT signer')) return 'signer';
  if (message.includes(TEXTS.missing)) return 'missing';
  return 'malformed';
}

/** Map a `keys.verify` rejection (or a missing token) to Supabase's wording. */
export function describeTokenFailure(
  error: unknown,
  token: string | null,
  nowMs: number = Date.now(),
): TokenFailure {
  const kind: TokenFailureKind = token === null || token === '' ? 'missing' : kindOfError(error);
  const exp = kind === 'expired' && token ? unverifiedExpiry(token) : null;
  const detailed = exp === null ? TEXTS[kind] : expiredText(exp, nowMs);
  return {
    kind,
    text: TEXTS[kind],
    joinReason: `${CODES[kind]}: ${kind === 'missing' ? TEXTS.claims_missing : detailed}`,
    reason: kind === 'missing' ? 'api_key_missing' : kind === 'expired' ? 'token_expired' : `jwt_${kind}`,
  };
}

/** The system-message text for a channel whose token is refused after the join. */
export function systemTextFor(failure: TokenFailure, token: string, nowMs: number = Date.now()): string {
  if (failure.kind !== 'expired') return failure.text;
  const exp = unverifiedExpiry(token);
  return exp === null ? failure.text : expiredText(exp, nowMs);
}
