/**
 * An environment's synthetic mechanics: their sessions, the auth metrics they feed, and the token
 * state the status page shows. Gauges (seconds to the earliest expiry, tokens overdue) are kept
 * current by a one-second ticker, so an alert sees a token running out even when nothing else
 * happens.
 */
import type { CanaryMetrics } from '../metrics/index.js';
import { silentLogger, systemClock, type Clock, type Logger } from '../shared/index.js';
import type { AuthApi } from './auth-api.js';
import {
  MechanicSession,
  type AuthEvent,
  type MechanicCredentials,
  type MechanicTokenStatus,
} from './mechanic-session.js';
import {
  refreshDelayMs,
  retryDelayMs,
  type RefreshTiming,
  DEFAULT_REFRESH_TIMING,
} from './refresh-timing.js';

export interface MechanicPoolOptions {
  /** The environment's name: the `env` label. */
  env: string;
  /** The environment's Auth API (password mechanics). */
  auth?: AuthApi;
  timing?: RefreshTiming;
  metrics?: CanaryMetrics;
  clock?: Clock;
  logger?: Logger;
  random?: () => number;
}

/** For a supabase-js subscriber that keeps its own session: the same timing and metrics. */
export interface ClientSignInPlan {
  email: string;
  password: string;
  refreshDelayMs(expiresAtMs: number, lifetimeMs: number): number;
  retryDelayMs(consecutiveFailures: number): number;
  onAuthEvent(event: {
    type: 'sign_in' | 'refresh';
    ok: boolean;
    durationMs: number;
    message?: string;
  }): void;
}

const GAUGE_TICK_MS = 1_000;

export class MechanicPool {
  private readonly members: MechanicSession[] = [];
  private readonly timing: RefreshTiming;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly random: () => number;
  private ticker: NodeJS.Timeout | undefined;

  constructor(private readonly options: MechanicPoolOptions) {
    this.timing = options.timing ?? DEFAULT_REFRESH_TIMING;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.random = options.random ?? Math.random;
  }

  get sessions(): readonly MechanicSession[] {
    return this.members;
  }

  /** Signs one mechanic in (or mints, or reads its token) and keeps its token renewed. */
  async add(credentials: MechanicCredentials): Promise<MechanicSession> {
    const session = new MechanicSession({
      credentials,
      auth: this.options.auth,
      timing: this.timing,
      clock: this.clock,
      logger: this.logger,
      random: this.random,
      // Reading a pre-issued token is no sign-in: only its expiry is worth recording.
      onEvent: (event) => {
        if (credentials.kind !== 'env' || event.type === 'expired') this.record(event);
      },
    });
    await session.start();
    this.members.push(session);
    this.ensureTicker();
    this.updateGauges();
    return session;
  }

  statuses(): MechanicTokenStatus[] {
    return this.members.map((session) => session.status());
  }

  /** Epoch ms of the earliest expiry among the mechanics' current tokens (undefined with none). */
  earliestExpiry(): number | undefined {
    let earliest: number | undefined;
    for (const session of this.members) {
      if (session.expiresAt > 0 && (earliest === undefined || session.expiresAt < earliest))
        earliest = session.expiresAt;
    }
    return earliest;
  }

  /** The sign-in a supabase-js subscriber makes itself, for a password mechanic; undefined otherwise. */
  clientSignIn(session: MechanicSession): ClientSignInPlan | undefined {
    const credentials = session.credentials;
    if (credentials.kind !== 'password') return undefined;
    return {
      email: credentials.email.reveal(),
      password: credentials.password.reveal(),
      refreshDelayMs: (expiresAtMs, lifetimeMs) =>
        refreshDelayMs(this.timing, expiresAtMs, lifetimeMs, this.clock.wallNow(), this.random()),
      retryDelayMs: (failures) => retryDelayMs(failures, this.random()),
      onAuthEvent: (event) =>
        this.record(
          event.ok
            ? { type: event.type, outcome: 'success', durationMs: event.durationMs }
            : {
                type: event.type,
                outcome: 'failure',
                durationMs: event.durationMs,
                failure: 'server',
                message: event.message ?? '',
              },
        ),
    };
  }

  stop(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
    for (const session of this.members) session.stop();
  }

  private record(event: AuthEvent): void {
    const metrics = this.options.metrics;
    const env = this.options.env;
    if (event.type === 'expired') {
      this.updateGauges();
      return;
    }
    if (!metrics) return;
    if (event.type === 'sign_in') {
      metrics.authSignIns.observe({ env, outcome: event.outcome }, event.durationMs / 1000);
    } else {
      metrics.authRefreshes.inc({ env, outcome: event.outcome });
    }
  }

  private ensureTicker(): void {
    if (this.ticker || !this.options.metrics) return;
    this.ticker = setInterval(() => this.updateGauges(), GAUGE_TICK_MS);
    this.ticker.unref();
  }

  private updateGauges(): void {
    const metrics = this.options.metrics;
    if (!metrics) return;
    const env = this.options.env;
    const earliest = this.earliestExpiry();
    if (earliest !== undefined) {
      metrics.authTokenExpiry.set({ env }, Math.round((earliest - this.clock.wallNow()) / 100) / 10);
    }
    let overdue = 0;
    for (const session of this.members) {
      const state = session.status().state;
      if (state === 'retrying' || state === 'expired') overdue += 1;
    }
    metrics.authTokensOverdue.set({ env }, overdue);
  }
}
