/**
 * One synthetic mechanic's access token, kept valid for as long as the canary runs.
 *
 * - `password`: signs in through Supabase Auth and renews with the refresh-token grant before
 *   expiry (the refresh token rotates on every use; a refused one falls back to a new sign-in);
 * - `mint`: signs a fresh HS256 user token with the project's legacy JWT secret before expiry;
 * - `env`: a pre-issued token, used as it is until it expires (then reported, never renewed).
 *
 * Every consumer (lean subscribers, pollers) reads `current()` and listens with `onRefresh()`, so a
 * renewed token reaches them at once. Failures are retried with backoff and reported as auth
 * events; when a token expires without a successor the session says so (`expired`), and it keeps
 * trying, so recovery is automatic once Auth answers again.
 */
import { SignJWT } from 'jose';
import type { Secret } from '../config/index.js';
import { CanaryError, silentLogger, systemClock, type Clock, type Logger } from '../shared/index.js';
import type { AuthApi } from './auth-api.js';
import { TLS_TRUST_HINT } from '../net/index.js';
import { AuthRequestError, claimsOf, type AuthFailureKind } from './auth-api.js';
import {
  refreshDelayMs,
  retryDelayMs,
  type RefreshTiming,
  DEFAULT_REFRESH_TIMING,
} from './refresh-timing.js';

export type CredentialKind = 'password' | 'mint' | 'env';

export type MechanicCredentials =
  | { kind: 'password'; email: Secret; password: Secret }
  | { kind: 'mint'; jwtSecret: Secret; userId: string; lifetimeSeconds: number }
  | { kind: 'env'; token: Secret };

export type AuthEvent =
  | { type: 'sign_in' | 'refresh'; outcome: 'success'; durationMs: number }
  | {
      type: 'sign_in' | 'refresh';
      outcome: 'failure';
      durationMs: number;
      failure: AuthFailureKind;
      message: string;
    }
  | { type: 'expired' };

export type TokenState = 'pending' | 'valid' | 'renewing' | 'retrying' | 'expired' | 'stopped';

export interface MechanicTokenStatus {
  mechanicId: string;
  source: CredentialKind;
  state: TokenState;
  /** ISO time the current token expires; null before the first token. */
  expiresAt: string | null;
  refreshes: number;
  refreshFailures: number;
  lastRefreshAt: string | null;
  /** The last failure, without any token or password in it. */
  lastError: string | null;
}

/** What the realtime subscribers and pollers need: the token now, and word of each new one. */
export interface TokenSource {
  current(): string;
  onRefresh(listener: (token: string) => void): () => void;
}

export interface MechanicSessionOptions {
  credentials: MechanicCredentials;
  /** Required for `password` credentials. */
  auth?: AuthApi;
  timing?: RefreshTiming;
  clock?: Clock;
  logger?: Logger;
  onEvent?: (event: AuthEvent, session: MechanicSession) => void;
  /** [0, 1); replaceable so tests can pin the jitter. */
  random?: () => number;
  /** Sign-in attempts start() makes before giving up (transient failures only). */
  startAttempts?: number;
}

const DEFAULT_START_ATTEMPTS = 3;

export class MechanicSession implements TokenSource {
  private accessToken = '';
  private refreshToken: string | undefined;
  private expiresAtMs = 0;
  private lifetimeMs = 0;
  private mechanicId = '';
  private state: TokenState = 'pending';
  private timer: NodeJS.Timeout | undefined;
  private consecutiveFailures = 0;
  private refreshes = 0;
  private refreshFailures = 0;
  private lastRefreshAt: number | null = null;
  private lastError: string | null = null;
  private expiredReported = false;
  private readonly listeners = new Set<(token: string) => void>();
  private readonly timing: RefreshTiming;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly random: () => number;

  constructor(private readonly options: MechanicSessionOptions) {
    if (options.credentials.kind === 'password' && !options.auth) {
      throw new CanaryError('INTERNAL', 'a password session needs the Auth API of its environment');
    }
    this.timing = options.timing ?? DEFAULT_REFRESH_TIMING;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.random = options.random ?? Math.random;
  }

  get source(): CredentialKind {
    return this.options.credentials.kind;
  }

  /** The credentials, for a process (a load worker) that must keep its own session. */
  get credentials(): MechanicCredentials {
    return this.options.credentials;
  }

  /** The mechanic's user id (`sub`), known once the first token is in. */
  get id(): string {
    return this.mechanicId;
  }

  /** Epoch milliseconds the current token expires at (0 before the first token). */
  get expiresAt(): number {
    return this.expiresAtMs;
  }

  current(): string {
    return this.accessToken;
  }

  onRefresh(listener: (token: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Gets the first token (retrying transient failures a few times) and schedules its renewal. */
  async start(): Promise<void> {
    const attempts = this.options.startAttempts ?? DEFAULT_START_ATTEMPTS;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.acquire('sign_in');
        break;
      } catch (error) {
        const transient = error instanceof AuthRequestError && error.transient;
        if (!transient || attempt >= attempts || this.isStopped()) throw this.startFailure(error);
        await new Promise((resolve) => setTimeout(resolve, retryDelayMs(attempt, this.random())));
      }
    }
    if (this.source === 'env') this.warnLifetime();
    this.scheduleRenewal();
  }

  stop(): void {
    this.state = 'stopped';
    clearTimeout(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }

  status(): MechanicTokenStatus {
    return {
      mechanicId: this.mechanicId,
      source: this.source,
      state: this.state === 'valid' && this.expired() ? 'expired' : this.state,
      expiresAt: this.expiresAtMs > 0 ? new Date(this.expiresAtMs).toISOString() : null,
      refreshes: this.refreshes,
      refreshFailures: this.refreshFailures,
      lastRefreshAt: this.lastRefreshAt === null ? null : new Date(this.lastRefreshAt).toISOString(),
      lastError: this.lastError,
    };
  }

  private isStopped(): boolean {
    return this.state === 'stopped';
  }

  private expired(): boolean {
    return this.expiresAtMs > 0 && this.clock.wallNow() >= this.expiresAtMs;
  }

  // ── acquiring tokens ──────────────────────────────────────────────────────────────────────

  private async acquire(type: 'sign_in' | 'refresh'): Promise<void> {
    const started = this.clock.now();
    try {
      const token = await this.fetchToken(type);
      if (this.isStopped()) return;
      this.install(token.accessToken, token.refreshToken, token.expiresAtMs, token.lifetimeMs);
      this.consecutiveFailures = 0;
      this.lastError = null;
      if (type === 'refresh') {
        this.refreshes += 1;
        this.lastRefreshAt = this.clock.wallNow();
      }
      this.options.onEvent?.({ type, outcome: 'success', durationMs: this.clock.now() - started }, this);
    } catch (error) {
      const failure =
        error instanceof AuthRequestError
          ? error
          : new AuthRequestError('server', messageOf(error), 0, undefined);
      this.consecutiveFailures += 1;
      if (type === 'refresh') this.refreshFailures += 1;
      this.lastError = failure.message;
      this.options.onEvent?.(
        {
          type,
          outcome: 'failure',
          durationMs: this.clock.now() - started,
          failure: failure.kind,
          message: failure.message,
        },
        this,
      );
      throw failure;
    }
  }

  private async fetchToken(type: 'sign_in' | 'refresh'): Promise<{
    accessToken: string;
    refreshToken: string | undefined;
    expiresAtMs: number;
    lifetimeMs: number;
  }> {
    const credentials = this.options.credentials;
    switch (credentials.kind) {
      case 'password': {
        const auth = this.options.auth!;
        const tokens =
          type === 'refresh' && this.refreshToken !== undefined
            ? await auth.refresh(this.refreshToken).catch((error: unknown) => {
                // A used or revoked refresh token cannot recover by itself: sign in again.
                if (error instanceof AuthRequestError && error.kind === 'refresh_token') {
                  this.refreshToken = undefined;
                  return auth.signInWithPassword(credentials.email.reveal(), credentials.password.reveal());
                }
                throw error;
              })
            : await auth.signInWithPassword(credentials.email.reveal(), credentials.password.reveal());
        return {
          accessToken: tokens.accessToken,
          refreshToken: tokens.refreshToken,
          expiresAtMs: tokens.expiresAt * 1000,
          lifetimeMs: tokens.expiresIn * 1000,
        };
      }
      case 'mint': {
        const nowSeconds = Math.floor(this.clock.wallNow() / 1000);
        const accessToken = await mintUserToken(
          credentials.jwtSecret.reveal(),
          credentials.userId,
          credentials.lifetimeSeconds,
          nowSeconds,
        );
        return {
          accessToken,
          refreshToken: undefined,
          expiresAtMs: (nowSeconds + credentials.lifetimeSeconds) * 1000,
          lifetimeMs: credentials.lifetimeSeconds * 1000,
        };
      }
      case 'env': {
        const accessToken = credentials.token.reveal();
        const claims = claimsOf(accessToken);
        const exp = typeof claims.exp === 'number' ? claims.exp * 1000 : 0;
        const iat = typeof claims.iat === 'number' ? claims.iat * 1000 : this.clock.wallNow();
        return { accessToken, refreshToken: undefined, expiresAtMs: exp, lifetimeMs: Math.max(0, exp - iat) };
      }
    }
  }

  private install(
    accessToken: string,
    refreshToken: string | undefined,
    expiresAtMs: number,
    lifetimeMs: number,
  ): void {
    const changed = accessToken !== this.accessToken;
    this.accessToken = accessToken;
    this.refreshToken = refreshToken;
    this.expiresAtMs = expiresAtMs;
    this.lifetimeMs = lifetimeMs;
    this.expiredReported = false;
    const sub = claimsOf(accessToken).sub;
    if (typeof sub === 'string' && sub !== '') this.mechanicId = sub;
    else if (this.options.credentials.kind === 'mint') this.mechanicId = this.options.credentials.userId;
    this.state = 'valid';
    if (changed) {
      for (const listener of [...this.listeners]) {
        try {
          listener(accessToken);
        } catch (error) {
          this.logger.warn('a token listener failed', { error: messageOf(error) });
        }
      }
    }
  }

  // ── renewal ───────────────────────────────────────────────────────────────────────────────

  private scheduleRenewal(): void {
    if (this.state === 'stopped') return;
    clearTimeout(this.timer);
    if (this.source === 'env') {
      // Nothing can renew a pre-issued token; say when it runs out.
      if (this.expiresAtMs > 0)
        this.schedule(Math.max(0, this.expiresAtMs - this.clock.wallNow()), () => this.markExpired());
      return;
    }
    const delay = refreshDelayMs(
      this.timing,
      this.expiresAtMs,
      this.lifetimeMs,
      this.clock.wallNow(),
      this.random(),
    );
    this.schedule(delay, () => void this.renew());
  }

  private async renew(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'renewing';
    try {
      await this.acquire('refresh');
      this.scheduleRenewal();
    } catch (error) {
      if (this.isStopped()) return;
      this.state = 'retrying';
      if (this.expired()) this.markExpired();
      const rateLimited = error instanceof AuthRequestError && error.kind === 'rate_limit';
      const delay = retryDelayMs(this.consecutiveFailures, this.random(), rateLimited);
      this.logger.warn('renewing a mechanic token failed; retrying', {
        mechanic: this.mechanicId,
        source: this.source,
        retryInMs: delay,
        expiresInMs: Math.max(0, this.expiresAtMs - this.clock.wallNow()),
        error: messageOf(error),
      });
      this.schedule(delay, () => void this.renew());
    }
  }

  private markExpired(): void {
    if (this.expiredReported || this.state === 'stopped') return;
    this.expiredReported = true;
    if (this.source === 'env') this.state = 'expired';
    this.logger.error(
      'a mechanic token expired without a successor; its subscribers are refused until it is renewed',
      {
        mechanic: this.mechanicId,
        source: this.source,
        hint:
          this.source === 'env'
            ? 'pre-issued tokens cannot be renewed: use `mechanics.from: password` (or issue new tokens and restart)'
            : 'Supabase Auth is not answering refreshes; see canary_auth_refreshes_total{outcome="failure"}',
      },
    );
    this.options.onEvent?.({ type: 'expired' }, this);
  }

  private schedule(delayMs: number, run: () => void): void {
    clearTimeout(this.timer);
    // setTimeout holds at most ~24.8 days; re-arm in steps for longer-lived tokens.
    const step = Math.min(delayMs, 2 ** 31 - 1);
    this.timer = setTimeout(step < delayMs ? () => this.schedule(delayMs - step, run) : run, step);
    this.timer.unref();
  }

  private warnLifetime(): void {
    const leftMs = this.expiresAtMs - this.clock.wallNow();
    if (this.expiresAtMs === 0) {
      this.logger.warn(
        'a pre-issued mechanic token has no exp claim; the canary cannot tell when it expires',
        {
          variable:
            this.options.credentials.kind === 'env' ? this.options.credentials.token.source : undefined,
        },
      );
      return;
    }
    this.logger.warn(
      'pre-issued mechanic token: it is not renewed, measuring stops for its subscribers when it expires',
      {
        mechanic: this.mechanicId,
        variable: this.options.credentials.kind === 'env' ? this.options.credentials.token.source : undefined,
        expiresAt: new Date(this.expiresAtMs).toISOString(),
        validForMinutes: Math.round(leftMs / 60_000),
        hint: 'use `mechanics.from: password` for runs longer than the token lives',
      },
    );
  }

  private startFailure(error: unknown): CanaryError {
    const credentials = this.options.credentials;
    const who =
      credentials.kind === 'password'
        ? `the mechanic in ${credentials.email.source}`
        : credentials.kind === 'env'
          ? `the token in ${credentials.token.source}`
          : `mechanic ${credentials.userId}`;
    if (error instanceof CanaryError) return error;
    if (error instanceof AuthRequestError) {
      const hint: Record<AuthFailureKind, string> = {
        credentials: `check the email and password variables of ${who} (\`canary mechanics create\` prints working ones)`,
        refresh_token: 'sign in again: the refresh token was used or revoked',
        rate_limit: 'Supabase Auth is rate limiting sign-ins from this address; use fewer mechanics or wait',
        rejected_key: 'the publishable (or anon) key was refused: check publishableKeyEnv / anonKeyEnv',
        network: 'check remote.supabaseUrl and the network; the canary retries the environment on its own',
        tls: TLS_TRUST_HINT,
        server: 'Supabase Auth answered with an error; the canary retries the environment on its own',
        request: 'the Auth request was refused as malformed; check the account variables',
      };
      // Transient failures become TARGET_UNREACHABLE, which the scheduler retries with backoff.
      return new CanaryError(
        error.transient ? 'TARGET_UNREACHABLE' : 'AUTH_FAILED',
        `${who} could not sign in: ${error.message}`,
        {
          hint: hint[error.kind],
          cause: error,
        },
      );
    }
    return new CanaryError('AUTH_FAILED', `${who} could not sign in: ${messageOf(error)}`, {
      hint: 'check the mechanics section of the environment',
      cause: error,
    });
  }
}

/** A Supabase-style user access token (role authenticated, sub = user id), HS256. */
export async function mintUserToken(
  secret: string,
  userId: string,
  lifetimeSeconds: number,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<string> {
  return new SignJWT({ role: 'authenticated', aud: 'authenticated', aal: 'aal1', is_anonymous: false })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + lifetimeSeconds)
    .sign(new TextEncoder().encode(secret));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
