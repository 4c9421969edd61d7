/**
 * The few Supabase Auth (GoTrue) endpoints the canary calls, over plain fetch: password sign-in,
 * refresh-token grant, the admin user API (secret key) and the JWKS. Every failure becomes an
 * AuthRequestError whose `kind` says what it is — bad credentials, a used or unknown refresh
 * token, a rate limit, the network, the server — so callers can retry what is transient and
 * report the rest as the auth failure it is, never as lost deliveries.
 */

import { isTlsFailure } from '../net/index.js';

export type AuthFailureKind =
  | 'credentials' // wrong email or password, unconfirmed or banned user
  | 'refresh_token' // the refresh token was used already, revoked or is unknown
  | 'rate_limit' // 429 over_request_rate_limit
  | 'rejected_key' // the apikey or admin key was refused
  | 'network' // no answer: DNS, refused connection, timeout
  | 'tls' // the TLS handshake failed: untrusted or expired certificate, wrong name
  | 'server' // 5xx, or an answer that is not Supabase Auth's
  | 'request'; // 4xx the request itself caused (validation)

export class AuthRequestError extends Error {
  constructor(
    readonly kind: AuthFailureKind,
    message: string,
    readonly status: number,
    /** GoTrue's `error_code` (e.g. invalid_credentials), when it sent one. */
    readonly errorCode: string | undefined,
  ) {
    super(message);
    this.name = 'AuthRequestError';
  }

  /** Worth trying again later on its own (the credentials themselves are not the problem). */
  get transient(): boolean {
    // tls too: an edge's certificate is fixed or renewed without the canary changing.
    return (
      this.kind === 'network' || this.kind === 'tls' || this.kind === 'server' || this.kind === 'rate_limit'
    );
  }
}

/** What a successful password or refresh grant gives. */
export interface AuthTokens {
  accessToken: string;
  refreshToken: string;
  /** Seconds since the epoch when the access token expires (from `expires_at`, else the JWT). */
  expiresAt: number;
  /** Lifetime the server granted, in seconds. */
  expiresIn: number;
  userId: string;
}

export interface AuthApiOptions {
  /** Project URL, e.g. https://<ref>.supabase.co (the API lives under /auth/v1). */
  supabaseUrl: string;
  /** The publishable (or legacy anon) key sent as `apikey`. */
  apiKey: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export interface AuthUser {
  id: string;
  email: string | undefined;
  userMetadata: Record<string, unknown>;
}

const DEFAULT_TIMEOUT_MS = 10_000;

export class AuthApi {
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: AuthApiOptions) {
    this.base = `${options.supabaseUrl.replace(/\/$/, '')}/auth/v1`;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.fetchImpl = options.fetch ?? fetch;
  }

  signInWithPassword(email: string, password: string): Promise<AuthTokens> {
    return this.tokenGrant('password', { email, password });
  }

  refresh(refreshToken: string): Promise<AuthTokens> {
    return this.tokenGrant('refresh_token', { refresh_token: refreshToken });
  }

  /** The signing keys a third party would verify tokens with; [] for a legacy HS256 project. */
  async jwks(): Promise<{ kid: string | undefined; alg: string | undefined; kty: string | undefined }[]> {
    const body = await this.request('GET', '/.well-known/jwks.json', { key: this.options.apiKey });
    const keys = (body as { keys?: unknown }).keys;
    if (!Array.isArray(keys))
      throw new AuthRequestError('server', 'the JWKS has no keys array', 200, undefined);
    return keys.map((key: Record<string, unknown>) => ({
      kid: typeof key.kid === 'string' ? key.kid : undefined,
      alg: typeof key.alg === 'string' ? key.alg : undefined,
      kty: typeof key.kty === 'string' ? key.kty : undefined,
    }));
  }

  /** Admin: a user with a confirmed email (the secret or service_role key is required). */
  async createUser(
    serverKey: string,
    user: { email: string; password: string; userMetadata?: Record<string, unknown> },
  ): Promise<AuthUser> {
    const body = await this.request('POST', '/admin/users', {
      key: serverKey,
      body: {
        email: user.email,
        password: user.password,
        email_confirm: true,
        user_metadata: user.userMetadata ?? {},
      },
    });
    return userOf(body);
  }

  async deleteUser(serverKey: string, userId: string): Promise<void> {
    await this.request('DELETE', `/admin/users/${encodeURIComponent(userId)}`, { key: serverKey });
  }

  /** Admin: one page of users (GoTrue pages from 1). */
  async listUsers(serverKey: string, page: number, perPage: number): Promise<AuthUser[]> {
    const body = await this.request('GET', `/admin/users?page=${page}&per_page=${perPage}`, {
      key: serverKey,
    });
    const users = (body as { users?: unknown }).users;
    return Array.isArray(users) ? users.map(userOf) : [];
  }

  private async tokenGrant(
    grant: 'password' | 'refresh_token',
    body: Record<string, string>,
  ): Promise<AuthTokens> {
    const answer = await this.request('POST', `/token?grant_type=${grant}`, {
      key: this.options.apiKey,
      body,
    });
    return tokensOf(answer);
  }

  private async request(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    options: { key: string; body?: unknown },
  ): Promise<unknown> {
    const headers: Record<string, string> = {
      apikey: options.key,
      accept: 'application/json',
      'x-client-info': 'realtime-canary',
    };
    // The new sb_ keys are not JWTs: they go in `apikey` only. A legacy JWT key is also a bearer.
    if (!options.key.startsWith('sb_')) headers.authorization = `Bearer ${options.key}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.base}${path}`, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const cause =
        error instanceof Error
          ? error.cause instanceof Error
            ? error.cause.message
            : error.message
          : String(error);
      if (isTlsFailure(error)) {
        throw new AuthRequestError('tls', `TLS with ${this.base} failed: ${cause}`, 0, undefined);
      }
      throw new AuthRequestError('network', `no answer from ${this.base}: ${cause}`, 0, undefined);
    }
    const text = await response.text().catch(() => '');
    let parsed: unknown = undefined;
    try {
      parsed = text === '' ? {} : (JSON.parse(text) as unknown);
    } catch {
      parsed = undefined;
    }
    if (response.ok) {
      if (parsed === undefined) {
        throw new AuthRequestError(
          'server',
          `${method} ${path} answered ${response.status} with a body that is not JSON`,
          response.status,
          undefined,
        );
      }
      return parsed;
    }
    throw failureOf(response.status, parsed, `${method} ${path.split('?')[0]}`);
  }
}

function failureOf(status: number, body: unknown, what: string): AuthRequestError {
  const fields = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  const errorCode =
    typeof fields.error_code === 'string'
      ? fields.error_code
      : typeof fields.error === 'string'
        ? fields.error
        : undefined;
  const text =
    [fields.msg, fields.message, fields.error_description, fields.error].find(
      (value): value is string => typeof value === 'string' && value !== '',
    ) ?? `HTTP ${status}`;
  const message = `${what} answered ${status}${errorCode ? ` ${errorCode}` : ''}: ${text.slice(0, 200)}`;
  if (status === 429) return new AuthRequestError('rate_limit', message, status, errorCode);
  if (status >= 500) return new AuthRequestError('server', message, status, errorCode);
  if (errorCode?.startsWith('refresh_token') || /refresh token/i.test(text)) {
    return new AuthRequestError('refresh_token', message, status, errorCode);
  }
  if (
    errorCode === 'invalid_credentials' ||
    errorCode === 'email_not_confirmed' ||
    errorCode === 'user_banned' ||
    errorCode === 'invalid_grant'
  ) {
    return new AuthRequestError('credentials', message, status, errorCode);
  }
  if (status === 401 || status === 403)
    return new AuthRequestError('rejected_key', message, status, errorCode);
  return new AuthRequestError('request', message, status, errorCode);
}

function userOf(body: unknown): AuthUser {
  const fields = (body ?? {}) as Record<string, unknown>;
  if (typeof fields.id !== 'string')
    throw new AuthRequestError('server', 'the user answer has no id', 200, undefined);
  const metadata = fields.user_metadata;
  return {
    id: fields.id,
    email: typeof fields.email === 'string' ? fields.email : undefined,
    userMetadata:
      metadata !== null && typeof metadata === 'object' ? (metadata as Record<string, unknown>) : {},
  };
}

function tokensOf(body: unknown): AuthTokens {
  const fields = (body ?? {}) as Record<string, unknown>;
  const accessToken = fields.access_token;
  const refreshToken = fields.refresh_token;
  if (typeof accessToken !== 'string' || typeof refreshToken !== 'string') {
    throw new AuthRequestError(
      'server',
      'the token answer has no access_token or refresh_token',
      200,
      undefined,
    );
  }
  const claims = claimsOf(accessToken);
  const expiresAt =
    typeof fields.expires_at === 'number'
      ? fields.expires_at
      : typeof claims.exp === 'number'
        ? claims.exp
        : Math.floor(Date.now() / 1000) + (typeof fields.expires_in === 'number' ? fields.expires_in : 3600);
  const expiresIn =
    typeof fields.expires_in === 'number'
      ? fields.expires_in
      : Math.max(0, expiresAt - Math.floor(Date.now() / 1000));
  const user = fields.user as { id?: unknown } | undefined;
  const userId = typeof user?.id === 'string' ? user.id : typeof claims.sub === 'string' ? claims.sub : '';
  return { accessToken, refreshToken, expiresAt, expiresIn, userId };
}

/** A JWT's claims without verifying it (the server that issued it is trusted; this only reads exp/sub). */
export function claimsOf(token: string): Record<string, unknown> {
  const part = token.split('.')[1];
  if (!part) return {};
  try {
    const parsed = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
