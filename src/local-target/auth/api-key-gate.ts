/**
 * The check Supabase's API gateway makes before a request reaches REST, Auth or Realtime: an
 * `apikey` must be present and be one of the project's keys (or a token the project signed), and
 * a secret key is refused when the request comes from a browser (Supabase matches the
 * User-Agent). Answers are the gateway's `{message, hint}` bodies with its `sb-error-code` header.
 */
import type { KeyRing } from '../components.js';
import type { ApiKeyKind, TokenComponent } from './key-ring.js';

export interface ApiKeyRefusal {
  status: 401;
  message: string;
  hint: string;
  /** Supabase's `sb-error-code` response header, when it sends one. */
  errorCode: string | null;
  /** Short label for metrics. */
  reason: 'api_key_missing' | 'api_key_invalid' | 'secret_key_in_browser';
}

export const API_KEY_REFUSALS = {
  missing: {
    status: 401,
    message: 'No API key found in request',
    hint: 'No `apikey` request header or url param was found.',
    errorCode: 'UNAUTHORIZED_MISSING_API_KEY',
    reason: 'api_key_missing',
  },
  invalid: {
    status: 401,
    message: 'Invalid API key',
    hint: 'Double check your Supabase `anon` or `service_role` API key.',
    errorCode: 'UNAUTHORIZED_INVALID_API_KEY',
    reason: 'api_key_invalid',
  },
  browser: {
    status: 401,
    message: 'Forbidden use of secret API key in browser',
    hint: 'Secret API keys can only be used in a protected environment and should never be used in a browser. Use the publishable key there instead.',
    errorCode: null,
    reason: 'secret_key_in_browser',
  },
} as const satisfies Record<string, ApiKeyRefusal>;

/** Browsers announce themselves as `Mozilla/5.0 …`; servers (Node, curl, Deno) do not. */
export function isBrowserUserAgent(userAgent: string | undefined): boolean {
  return typeof userAgent === 'string' && /^Mozilla\/\d/.test(userAgent.trim());
}

export type ApiKeyVerdict = { ok: true; kind: ApiKeyKind | 'token' } | { ok: false; refusal: ApiKeyRefusal };

/** Checks one presented `apikey` the way the gateway does. */
export async function checkApiKey(
  keys: KeyRing,
  apiKey: string | undefined | null,
  userAgent: string | undefined,
  component: TokenComponent,
): Promise<ApiKeyVerdict> {
  if (apiKey === undefined || apiKey === null || apiKey === '')
    return { ok: false, refusal: API_KEY_REFUSALS.missing };
  const kind = keys.apiKeyKind(apiKey);
  if (kind === 'secret' && isBrowserUserAgent(userAgent))
    return { ok: false, refusal: API_KEY_REFUSALS.browser };
  if (kind !== null) {
    // A revoked legacy secret takes the legacy JWT keys with it, as on Supabase.
    if (kind === 'publishable' || kind === 'secret') return { ok: true, kind };
  }
  try {
    await keys.verify(apiKey, component);
    return { ok: true, kind: kind ?? 'token' };
  } catch {
    return { ok: false, refusal: API_KEY_REFUSALS.invalid };
  }
}

export function headerValue(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
