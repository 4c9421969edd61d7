/**
 * Supabase reports failures as free text in many places: join replies (`<Code>: <message>`),
 * upgrade refusals (HTTP status + JSON body), `system` messages and realtime-js's own
 * `channel error: …` / `socket closed: …` errors. Metrics need a small fixed label set, so every
 * text is folded here. The first matching rule wins, so specific codes come before generic words
 * (e.g. `heartbeat timeout` is a transport failure, not a join timeout).
 */
import { TLS_FAILURE_PATTERN } from '../net/index.js';
import type { AuthReason, ErrorReason } from './types.js';

const rules: readonly { reason: ErrorReason; pattern: RegExp }[] = [
  { reason: 'binding_mismatch', pattern: /mismatch between server and client bindings/i },
  // Before `transport`: "transport failure: self-signed certificate…" is a trust problem to fix.
  { reason: 'tls', pattern: TLS_FAILURE_PATTERN },
  {
    reason: 'auth',
    pattern:
      /InvalidJWTToken|MalformedJWT|JwtSignatureError|not a valid JWT|JWT signature|JWT signer|token has expired|JWT expired|role` and `exp`|API key is (missing|required)|\b401\b/i,
  },
  {
    reason: 'unauthorized',
    pattern: /Unauthorized|do not have permissions?|no longer have permission|PrivateOnly|\b403\b/i,
  },
  {
    // Per-second quotas: retrying later helps.
    reason: 'rate_limit',
    pattern:
      /joins per second|ClientJoinRateLimitReached|messages per second|presence rate limit|exceeded your rate limit|Too many requests|Too many messages to broadcast/i,
  },
  {
    // Capacity caps: more of the same will keep failing until someone leaves.
    reason: 'connection_limit',
    pattern:
      /Too many connected users|ConnectionRateLimitReached|Too many channels|ChannelRateLimitReached|\b429\b/i,
  },
  {
    reason: 'transport',
    pattern:
      /socket closed|transport failure|connection lost|heartbeat timeout|ECONNREFUSED|ECONNRESET|EPIPE|fetch failed|socket hang up|unexpected server response/i,
  },
  { reason: 'timeout', pattern: /timed out|timeout/i },
  {
    reason: 'server',
    pattern:
      /Tenant|RealtimeRestarting|RealtimeDisabled|UnknownErrorOnChannel|unable to connect to the project database|Replication connection|Unable to subscribe to changes|Error connecting to Realtime|\b5\d\d\b/i,
  },
  { reason: 'closed', pattern: /phx_close|\bclosed\b/i },
];

function textOf(messageOrError: unknown): string {
  if (typeof messageOrError === 'string') return messageOrError;
  if (messageOrError instanceof Error) return messageOrError.message;
  if (messageOrError !== null && typeof messageOrError === 'object') {
    const record = messageOrError as Record<string, unknown>;
    for (const key of ['reason', 'message', 'error']) {
      const value = record[key];
      if (typeof value === 'string') return value;
    }
    try {
      return JSON.stringify(messageOrError);
    } catch {
      return '';
    }
  }
  return messageOrError === undefined || messageOrError === null ? '' : String(messageOrError);
}

/** Fold a Supabase error (string, Error, or join-reply response object) into the small reason set. */
export function mapErrorReason(messageOrError: unknown): ErrorReason {
  const text = textOf(messageOrError);
  if (text === '') return 'other';
  for (const rule of rules) if (rule.pattern.test(text)) return rule.reason;
  return 'other';
}

const authRules: readonly { reason: AuthReason; pattern: RegExp }[] = [
  { reason: 'token_expired', pattern: /token has expired|JWT expired|\bexpired\b/i },
  { reason: 'key_refused', pattern: /API key|apikey|HTTP 401/i },
  {
    reason: 'invalid_token',
    pattern:
      /InvalidJWTToken|MalformedJWT|JwtSignatureError|not a valid JWT|JWT signature|JWT signer|role` and `exp`/i,
  },
  { reason: 'unauthorized', pattern: /Unauthorized|permission|PrivateOnly|\b403\b/i },
];

/**
 * For a failure mapped to `auth` or `unauthorized`: which kind of auth failure it was — an expired
 * token (the renewal did not arrive in time), a token Realtime could not verify, a refused API key
 * at connect, or a topic the mechanic may not read.
 */
export function mapAuthReason(messageOrError: unknown): AuthReason {
  const text = textOf(messageOrError);
  for (const rule of authRules) if (rule.pattern.test(text)) return rule.reason;
  return 'other';
}
