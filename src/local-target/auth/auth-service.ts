/**
 * Supabase Auth (GoTrue), the subset the target serves: password sign-in, refresh-token rotation
 * with reuse detection, the signed-in user, logout, and admin user management. Users, sessions
 * and refresh tokens live in Postgres (`auth.*`, migration 0006), passwords are bcrypt hashes
 * made by pgcrypto, and access tokens carry the claims GoTrue puts in them, signed by the key
 * ring's current key. Errors are AuthErrors with GoTrue's status, `error_code` and message.
 *
 * Refresh-token reuse: like GoTrue, a revoked refresh token presented again within the reuse
 * interval (default 10 s, GOTRUE_SECURITY_REFRESH_TOKEN_REUSE_INTERVAL) still refreshes (it
 * answers with the session's active token when the revoked one is its parent, else a new one), so
 * concurrent refreshes from one client do not sign it out. After the interval the reuse is
 * treated as theft: every token of the session is revoked and the answer is
 * `refresh_token_already_used`.
 *
 * One file, though long: sign-in, refresh, logout and the admin API share one session model
 * (users, sessions, the refresh-token chain and its reuse rules) whose invariants are easier to keep
 * in one place; the routes, the key ring and the rate limiter live beside it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { FaultController, JwtClaims } from '../components.js';
import type { TargetMetrics } from '../target-metrics.js';
import { isKeyError, type KeyError, type LocalKeyRing } from './key-ring.js';

/** bcrypt cost for stored passwords. GoTrue uses 10; 8 keeps bulk test sign-ups fast. */
const BCRYPT_COST = 8;
const MIN_PASSWORD_LENGTH = 6;
const REFRESH_TOKEN_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const FIVE_MINUTES_MS = 5 * 60_000;

/** An error answered the way GoTrue answers it. */
export class AuthError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly extra: {
      /** OAuth-style body (`{error, error_description}`) instead of the usual one. */
      oauth?: { error: string; error_description: string };
      weakPassword?: { reasons: string[] };
    } = {},
  ) {
    super(message);
    this.name = 'AuthError';
  }
}

export const INVALID_LOGIN = 'Invalid login credentials';

export interface AuthRateLimits {
  /** Password grants per client address per 5 minutes (Supabase: 30). */
  signInsPerFiveMinutes: number;
  /** Refresh-token grants per client address per 5 minutes (Supabase: 150). */
  refreshesPerFiveMinutes: number;
}

export const DEFAULT_AUTH_RATE_LIMITS: AuthRateLimits = {
  signInsPerFiveMinutes: 30,
  refreshesPerFiveMinutes: 150,
};

export const DEFAULT_REFRESH_TOKEN_REUSE_INTERVAL_SECONDS = 10;

export interface AuthServiceOptions {
  pool: pg.Pool;
  keys: LocalKeyRing;
  metrics: TargetMetrics;
  faults: FaultController;
  accessTokenTtlSeconds: number;
  refreshTokenReuseIntervalSeconds?: number;
  rateLimits?: Partial<AuthRateLimits>;
  /** `iss` of access tokens (`<url>/auth/v1`), known once the server listens. */
  issuer: () => string;
  now?: () => number;
}

interface UserRow {
  id: string;
  aud: string;
  role: string;
  email: string | null;
  phone: string | null;
  email_confirmed_at: Date | null;
  phone_confirmed_at: Date | null;
  confirmed_at: Date | null;
  last_sign_in_at: Date | null;
  raw_app_meta_data: Record<string, unknown>;
  raw_user_meta_data: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
  banned_until: Date | null;
  is_anonymous: boolean;
}

const USER_COLUMNS = `id, aud, role, email, phone, email_confirmed_at, phone_confirmed_at, confirmed_at,
  last_sign_in_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at, banned_until, is_anonymous`;

/** A user as GoTrue serialises it. */
export interface AuthUser {
  id: string;
  aud: string;
  role: string;
  email: string;
  email_confirmed_at?: string;
  phone: string;
  confirmed_at?: string;
  last_sign_in_at?: string;
  app_metadata: Record<string, unknown>;
  user_metadata: Record<string, unknown>;
  identities: Record<string, unknown>[];
  created_at: string;
  updated_at: string;
  is_anonymous: boolean;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
  expires_at: number;
  refresh_token: string;
  user: AuthUser;
}

export interface CreateUserParams {
  email?: string;
  phone?: string;
  password?: string;
  email_confirm?: boolean;
  phone_confirm?: boolean;
  user_metadata?: Record<string, unknown>;
  app_metadata?: Record<string, unknown>;
}

const iso = (value: Date | null): string | undefined => (value ? value.toISOString() : undefined);

function userJson(row: UserRow): AuthUser {
  const identities =
    row.email === null
      ? []
      : [
          {
            identity_id: row.id,
            id: row.id,
            user_id: row.id,
            identity_data: {
              email: row.email,
              email_verified: row.email_confirmed_at !== null,
              phone_verified: false,
              sub: row.id,
            },
            provider: 'email',
            last_sign_in_at: iso(row.last_sign_in_at) ?? iso(row.created_at),
            created_at: iso(row.created_at),
            updated_at: iso(row.updated_at),
            email: row.email,
          },
        ];
  return {
    id: row.id,
    aud: row.aud,
    role: row.role,
    email: row.email ?? '',
    ...(row.email_confirmed_at ? { email_confirmed_at: row.email_confirmed_at.toISOString() } : {}),
    phone: row.phone ?? '',
    ...(row.confirmed_at ? { confirmed_at: row.confirmed_at.toISOString() } : {}),
    ...(row.last_sign_in_at ? { last_sign_in_at: row.last_sign_in_at.toISOString() } : {}),
    app_metadata: row.raw_app_meta_data,
    user_metadata: row.raw_user_meta_data,
    identities,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    is_anonymous: row.is_anonymous,
  };
}

function newRefreshToken(): string {
  const bytes = randomBytes(12);
  let token = '';
  for (const byte of bytes) token += REFRESH_TOKEN_ALPHABET[byte % REFRESH_TOKEN_ALPHABET.length];
  return token;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: string): boolean => UUID_PATTERN.test(value);
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Sliding five-minute window per client address. */
class AddressWindow {
  private readonly hits = new Map<string, number[]>();

  constructor(
    private readonly limit: () => number,
    private readonly now: () => number,
  ) {}

  /** Count one request; false when it is over the limit. */
  hit(address: string): boolean {
    const now = this.now();
    const recent = (this.hits.get(address) ?? []).filter((at) => now - at < FIVE_MINUTES_MS);
    if (recent.length >= this.limit()) {
      this.hits.set(address, recent);
      return false;
    }
    recent.push(now);
    this.hits.set(address, recent);
    if (this.hits.size > 10_000) this.hits.clear();
    return true;
  }
}

/** GoTrue's 403 text for a token it cannot use, from the verifier's reason. */
export function badJwtMessage(error: KeyError): string {
  const prefix = 'invalid JWT: unable to parse or verify signature, ';
  switch (error.reason) {
    case 'expired':
      return `${prefix}token has invalid claims: token is expired`;
    case 'alg_none':
    case 'alg_not_allowed':
      return `${prefix}token signature is invalid: signing method ${error.header.alg ?? 'none'} is invalid`;
    case 'unknown_key':
    case 'revoked_key':
      return `${prefix}token is unverifiable: error while executing keyfunc: invalid kid: ${error.header.kid ?? '<nil>'}`;
    case 'bad_signature':
      return `${prefix}token signature is invalid: ${error.header.alg === 'HS256' ? 'signature is invalid' : 'crypto/ecdsa: verification error'}`;
    case 'claims_missing':
      return `${prefix}token has invalid claims: ${error.message}`;
    default:
      return `${prefix}token is malformed: token contains an invalid number of segments`;
  }
}

export interface RequestInfo {
  /** Client address for rate limiting. */
  address: string;
  userAgent?: string;
}

export class AuthService {
  readonly reuseIntervalSeconds: number;
  readonly rateLimits: AuthRateLimits;
  private readonly signIns: AddressWindow;
  private readonly refreshes: AddressWindow;
  private readonly now: () => number;

  constructor(private readonly options: AuthServiceOptions) {
    this.now = options.now ?? Date.now;
    this.reuseIntervalSeconds =
      options.refreshTokenReuseIntervalSeconds ?? DEFAULT_REFRESH_TOKEN_REUSE_INTERVAL_SECONDS;
    this.rateLimits = { ...DEFAULT_AUTH_RATE_LIMITS, ...options.rateLimits };
    this.signIns = new AddressWindow(() => this.rateLimits.signInsPerFiveMinutes, this.now);
    this.refreshes = new AddressWindow(() => this.rateLimits.refreshesPerFiveMinutes, this.now);
  }

  private get pool(): pg.Pool {
    return this.options.pool;
  }

  // ---- tokens --------------------------------------------------------------------------------

  private async issue(
    user: UserRow,
    sessionId: string,
    sessionCreatedAt: Date,
    refreshToken: string,
    ttlSeconds = this.options.accessTokenTtlSeconds,
  ): Promise<TokenResponse> {
    const skew = this.options.faults.current.auth.clockSkewSeconds;
    if (skew !== 0) this.options.faults.record('clock_skew', 'auth');
    const iat = Math.floor(this.now() / 1000) + skew;
    const exp = iat + ttlSeconds;
    const accessToken = await this.options.keys.sign({
      iss: this.options.issuer(),
      sub: user.id,
      aud: user.aud,
      exp,
      iat,
      email: user.email ?? '',
      phone: user.phone ?? '',
      app_metadata: user.raw_app_meta_data,
      user_metadata: user.raw_user_meta_data,
      role: user.role,
      aal: 'aal1',
      amr: [{ method: 'password', timestamp: Math.floor(sessionCreatedAt.getTime() / 1000) }],
      session_id: sessionId,
      is_anonymous: user.is_anonymous,
    });
    return {
      access_token: accessToken,
      token_type: 'bearer',
      expires_in: ttlSeconds,
      expires_at: exp,
      refresh_token: refreshToken,
      user: userJson(user),
    };
  }

  // ---- grants --------------------------------------------------------------------------------

  /** grant_type=password. `request` null = an in-process sign-in (no rate limit). */
  async signInWithPassword(
    params: { email?: string; phone?: string; password?: string },
    request: RequestInfo | null,
    ttlSeconds?: number,
  ): Promise<TokenResponse> {
    if (request && !this.signIns.hit(request.address)) {
      throw new AuthError(429, 'over_request_rate_limit', 'Request rate limit reached');
    }
    const email = params.email ?? '';
    const phone = params.phone ?? '';
    if (email !== '' && phone !== '') {
      throw new AuthError(
        400,
        'validation_failed',
        'Only an email address or phone number should be provided on login.',
      );
    }
    if (email === '' && phone === '') throw new AuthError(400, 'validation_failed', 'missing email or phone');
    const { rows } = await this.pool.query<UserRow & { password_ok: boolean | null }>(
      `select ${USER_COLUMNS}, encrypted_password = crypt($2, encrypted_password) as password_ok
         from auth.users
        where ${email !== '' ? 'lower(email) = lower($1)' : 'phone = $1'} and aud = 'authenticated' and deleted_at is null`,
      [email !== '' ? email : phone, params.password ?? ''],
    );
    const user = rows[0];
    if (!user || user.password_ok !== true) throw new AuthError(400, 'invalid_credentials', INVALID_LOGIN);
    if (user.banned_until && user.banned_until.getTime() > this.now()) {
      throw new AuthError(400, 'user_banned', 'User is banned');
    }
    if (email !== '' && user.email_confirmed_at === null) {
      throw new AuthError(400, 'email_not_confirmed', 'Email not confirmed');
    }
    const client = await this.pool.connect();
    try {
      await client.query('begin');
      const sessionId = randomUUID();
      const { rows: sessions } = await client.query<{ created_at: Date }>(
        `insert into auth.sessions (id, user_id, user_agent, ip) values ($1, $2, $3, $4) returning created_at`,
        [sessionId, user.id, request?.userAgent ?? null, request?.address ?? null],
      );
      const refreshToken = newRefreshToken();
      await client.query(`insert into auth.refresh_tokens (token, user_id, session_id) values ($1, $2, $3)`, [
        refreshToken,
        user.id,
        sessionId,
      ]);
      const { rows: updated } = await client.query<UserRow>(
        `update auth.users set last_sign_in_at = now(), updated_at = now() where id = $1 returning ${USER_COLUMNS}`,
        [user.id],
      );
      await client.query('commit');
      this.options.metrics.authSignIns.inc();
      return await this.issue(
        updated[0] ?? user,
        sessionId,
        sessions[0]!.created_at,
        refreshToken,
        ttlSeconds,
      );
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** grant_type=refresh_token, with rotation and reuse detection. */
  async refresh(refreshToken: string | undefined, request: RequestInfo | null): Promise<TokenResponse> {
    if (request && !this.refreshes.hit(request.address)) {
      throw new AuthError(429, 'over_request_rate_limit', 'Request rate limit reached');
    }
    if (refreshToken === undefined || refreshToken === '') {
      throw new AuthError(400, 'validation_failed', 'refresh_token required', {
        oauth: { error: 'invalid_request', error_description: 'refresh_token required' },
      });
    }
    const { faults } = this.options;
    const fault = faults.current.auth.refresh;
    const delayMs = faults.sampleDelay(fault);
    if (delayMs > 0) {
      faults.record('delay', 'auth');
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
    if (faults.roll(fault.failRate)) {
      faults.record('refresh_fail', 'auth');
      throw injectedFailure(fault.failStatus);
    }

    const client = await this.pool.connect();
    let outcome:
      { error: AuthError } | { user: UserRow; sessionId: string; sessionCreatedAt: Date; token: string };
    try {
      await client.query('begin');
      outcome = await this.rotate(client, refreshToken);
      await client.query('commit');
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    if ('error' in outcome) throw outcome.error;
    this.options.metrics.authRefreshes.inc();
    return this.issue(outcome.user, outcome.sessionId, outcome.sessionCreatedAt, outcome.token);
  }

  /** Inside a transaction: swap `presented` for a new token (or the active one), or refuse. */
  private async rotate(
    client: pg.PoolClient,
    presented: string,
  ): Promise<
    { error: AuthError } | { user: UserRow; sessionId: string; sessionCreatedAt: Date; token: string }
  > {
    const { rows } = await client.query<{
      id: string;
      token: string;
      user_id: string;
      revoked: boolean;
      updated_at: Date;
      session_id: string;
    }>(
      `select id, token, user_id, revoked, updated_at, session_id from auth.refresh_tokens where token = $1 for update`,
      [presented],
    );
    const row = rows[0];
    if (!row) {
      return {
        error: new AuthError(
          400,
          'refresh_token_not_found',
          'Invalid Refresh Token: Refresh Token Not Found',
        ),
      };
    }
    const { rows: sessions } = await client.query<{ id: string; created_at: Date }>(
      `select id, created_at from auth.sessions where id = $1 for update`,
      [row.session_id],
    );
    const session = sessions[0];
    if (!session) {
      return {
        error: new AuthError(400, 'session_not_found', 'Invalid Refresh Token: No Valid Session Found'),
      };
    }
    let issued: string | null = null;
    if (row.revoked) {
      const { rows: active } = await client.query<{ token: string; parent: string | null }>(
        `select token, parent from auth.refresh_tokens where session_id = $1 and revoked = false order by id desc limit 1`,
        [row.session_id],
      );
      if (active[0] && active[0].parent === row.token) {
        // The client lost the answer to its last refresh: hand it the token it should have.
        issued = active[0].token;
      } else if (this.now() > row.updated_at.getTime() + this.reuseIntervalSeconds * 1000) {
        await client.query(
          `update auth.refresh_tokens set revoked = true, updated_at = now() where session_id = $1`,
          [row.session_id],
        );
        return {
          error: new AuthError(400, 'refresh_token_already_used', 'Invalid Refresh Token: Already Used'),
        };
      }
    }
    if (issued === null) {
      await client.query(
        `update auth.refresh_tokens set revoked = true, updated_at = now() where id = $1 and not revoked`,
        [row.id],
      );
      issued = newRefreshToken();
      await client.query(
        `insert into auth.refresh_tokens (token, user_id, session_id, parent) values ($1, $2, $3, $4)`,
        [issued, row.user_id, row.session_id, row.token],
      );
    }
    await client.query(`update auth.sessions set refreshed_at = now(), updated_at = now() where id = $1`, [
      session.id,
    ]);
    const { rows: users } = await client.query<UserRow>(
      `select ${USER_COLUMNS} from auth.users where id = $1`,
      [row.user_id],
    );
    const user = users[0];
    if (!user) {
      return {
        error: new AuthError(
          400,
          'refresh_token_not_found',
          'Invalid Refresh Token: Refresh Token Not Found',
        ),
      };
    }
    if (user.banned_until && user.banned_until.getTime() > this.now()) {
      return { error: new AuthError(400, 'user_banned', 'Invalid Refresh Token: User Banned') };
    }
    return { user, sessionId: session.id, sessionCreatedAt: session.created_at, token: issued };
  }

  // ---- the signed-in user ----------------------------------------------------------------------

  /** A bearer token's verified claims, refused with GoTrue's errors (missing → 401, bad → 403). */
  private async bearerClaims(bearer: string | undefined): Promise<JwtClaims> {
    if (bearer === undefined || bearer === '') {
      throw new AuthError(401, 'no_authorization', 'This endpoint requires a valid Bearer token');
    }
    try {
      return await this.options.keys.verify(bearer, 'auth');
    } catch (error) {
      if (isKeyError(error)) throw new AuthError(403, 'bad_jwt', badJwtMessage(error));
      throw error;
    }
  }

  /** Verifies a bearer token the way GoTrue's requireAuthentication does; returns its claims. */
  async authenticate(bearer: string | undefined): Promise<{ claims: JwtClaims; user: UserRow }> {
    const claims = await this.bearerClaims(bearer);
    const sub = typeof claims.sub === 'string' ? claims.sub : '';
    if (sub === '') throw new AuthError(403, 'bad_jwt', 'invalid claim: missing sub claim');
    if (!isUuid(sub)) throw new AuthError(400, 'bad_jwt', 'invalid claim: sub claim must be a UUID');
    const { rows } = await this.pool.query<UserRow>(`select ${USER_COLUMNS} from auth.users where id = $1`, [
      sub,
    ]);
    const user = rows[0];
    if (!user) throw new AuthError(403, 'user_not_found', 'User from sub claim in JWT does not exist');
    const sessionId = typeof claims.session_id === 'string' ? claims.session_id : '';
    if (sessionId !== '' && isUuid(sessionId)) {
      const { rowCount } = await this.pool.query(`select 1 from auth.sessions where id = $1`, [sessionId]);
      if (rowCount === 0) {
        throw new AuthError(403, 'session_not_found', 'Session from session_id claim in JWT does not exist');
      }
    }
    if (user.banned_until && user.banned_until.getTime() > this.now()) {
      throw new AuthError(403, 'user_banned', 'User is banned');
    }
    return { claims, user };
  }

  async currentUser(bearer: string | undefined): Promise<AuthUser> {
    return userJson((await this.authenticate(bearer)).user);
  }

  async logout(bearer: string | undefined, scope: string | undefined): Promise<void> {
    const chosen = scope ?? 'global';
    if (!['global', 'local', 'others'].includes(chosen)) {
      throw new AuthError(400, 'validation_failed', `Unsupported logout scope ${JSON.stringify(chosen)}`);
    }
    const { claims, user } = await this.authenticate(bearer);
    const sessionId =
      typeof claims.session_id === 'string' && isUuid(claims.session_id) ? claims.session_id : null;
    if (chosen === 'global' || sessionId === null) {
      await this.pool.query(`delete from auth.sessions where user_id = $1`, [user.id]);
    } else if (chosen === 'local') {
      await this.pool.query(`delete from auth.sessions where id = $1`, [sessionId]);
    } else {
      await this.pool.query(`delete from auth.sessions where user_id = $1 and id <> $2`, [
        user.id,
        sessionId,
      ]);
    }
  }

  // ---- admin ---------------------------------------------------------------------------------

  /** GoTrue's requireAdmin: the bearer must verify and carry an admin role. */
  async requireAdmin(bearer: string | undefined): Promise<void> {
    const claims = await this.bearerClaims(bearer);
    if (claims.role !== 'service_role' && claims.role !== 'supabase_admin') {
      throw new AuthError(403, 'not_admin', 'User not allowed');
    }
  }

  async createUser(params: CreateUserParams): Promise<AuthUser> {
    const email = params.email?.trim() ?? '';
    const phone = params.phone?.trim() ?? '';
    if (email === '' && phone === '') {
      throw new AuthError(400, 'validation_failed', 'Cannot create a user without either an email or phone');
    }
    if (email !== '' && !EMAIL_PATTERN.test(email)) {
      throw new AuthError(400, 'validation_failed', 'Unable to validate email address: invalid format');
    }
    if (params.password !== undefined && params.password.length < MIN_PASSWORD_LENGTH) {
      throw new AuthError(
        422,
        'weak_password',
        `Password should be at least ${MIN_PASSWORD_LENGTH} characters.`,
        {
          weakPassword: { reasons: ['length'] },
        },
      );
    }
    const appMetadata = {
      provider: email !== '' ? 'email' : 'phone',
      providers: [email !== '' ? 'email' : 'phone'],
      ...params.app_metadata,
    };
    try {
      const { rows } = await this.pool.query<UserRow>(
        `insert into auth.users (email, phone, encrypted_password, email_confirmed_at, phone_confirmed_at,
                                 raw_app_meta_data, raw_user_meta_data)
         values (nullif($1, ''), nullif($2, ''),
                 case when $3::text is null then null else crypt($3, gen_salt('bf', ${BCRYPT_COST})) end,
                 case when $4 then now() end, case when $5 then now() end, $6, $7)
         returning ${USER_COLUMNS}`,
        [
          email,
          phone,
          params.password ?? null,
          params.email_confirm === true && email !== '',
          params.phone_confirm === true && phone !== '',
          JSON.stringify(appMetadata),
          JSON.stringify(params.user_metadata ?? {}),
        ],
      );
      return userJson(rows[0]!);
    } catch (error) {
      if ((error as { code?: string }).code === '23505') {
        const constraint = (error as { constraint?: string }).constraint ?? '';
        if (constraint.includes('phone')) {
          throw new AuthError(422, 'phone_exists', 'Phone number already registered by another user');
        }
        throw new AuthError(
          422,
          'email_exists',
          'A user with this email address has already been registered',
        );
      }
      throw error;
    }
  }

  async listUsers(page: number, perPage: number): Promise<{ users: AuthUser[]; total: number }> {
    const { rows } = await this.pool.query<UserRow & { total: string }>(
      `select ${USER_COLUMNS}, count(*) over () as total from auth.users
        order by created_at, id limit $1 offset $2`,
      [perPage, (page - 1) * perPage],
    );
    let total = Number(rows[0]?.total ?? 0);
    if (rows.length === 0) {
      const { rows: counted } = await this.pool.query<{ n: string }>(`select count(*) as n from auth.users`);
      total = Number(counted[0]?.n ?? 0);
    }
    return { users: rows.map(userJson), total };
  }

  async getUser(id: string): Promise<AuthUser> {
    if (!isUuid(id)) throw new AuthError(404, 'validation_failed', 'user_id must be an UUID');
    const { rows } = await this.pool.query<UserRow>(`select ${USER_COLUMNS} from auth.users where id = $1`, [
      id,
    ]);
    if (!rows[0]) throw new AuthError(404, 'user_not_found', 'User not found');
    return userJson(rows[0]);
  }

  async deleteUser(id: string): Promise<void> {
    if (!isUuid(id)) throw new AuthError(404, 'validation_failed', 'user_id must be an UUID');
    const { rowCount } = await this.pool.query(`delete from auth.users where id = $1`, [id]);
    if (rowCount === 0) throw new AuthError(404, 'user_not_found', 'User not found');
  }
}

/** The answer an injected refresh failure gives, by status, in GoTrue's words. */
function injectedFailure(status: number): AuthError {
  if (status === 429) return new AuthError(429, 'over_request_rate_limit', 'Request rate limit reached');
  if (status === 504) {
    return new AuthError(
      504,
      'request_timeout',
      'Processing this request timed out, please retry after a moment.',
    );
  }
  if (status >= 500) {
    return new AuthError(
      status,
      'unexpected_failure',
      'Unexpected failure, please check server logs for more information',
    );
  }
  return new AuthError(status, 'unknown', 'Injected refresh failure');
}
