/**
 * When to renew a token. Pure functions, so the schedule can be checked without waiting for it.
 *
 * A token is renewed `margin` before it expires, and a random part of `jitter` earlier still, so
 * thousands of sessions that signed in together spread their refreshes instead of all calling
 * Auth in the same second. Both are capped at a quarter of the token's lifetime, so a project with
 * 20-second tokens renews 10–15 s into each token's life: well before expiry, yet no more often than
 * it must (Supabase Auth limits refreshes per client address: 150 per 5 minutes by default).
 */

export interface RefreshTiming {
  /** Renew this long before expiry (ms). */
  marginMs: number;
  /** Up to this much earlier again, at random (ms). */
  jitterMs: number;
}

export const DEFAULT_REFRESH_TIMING: RefreshTiming = { marginMs: 120_000, jitterMs: 60_000 };

/** The margin and jitter that apply to a token of this lifetime. */
export function effectiveTiming(timing: RefreshTiming, lifetimeMs: number): RefreshTiming {
  const lifetime = Math.max(0, lifetimeMs);
  return {
    marginMs: Math.min(timing.marginMs, lifetime * 0.25),
    jitterMs: Math.min(timing.jitterMs, lifetime * 0.25),
  };
}

/**
 * Milliseconds from `nowMs` until the token that expires at `expiresAtMs` (and lived `lifetimeMs`)
 * should be renewed; 0 when that moment has passed. `random` is in [0, 1).
 */
export function refreshDelayMs(
  timing: RefreshTiming,
  expiresAtMs: number,
  lifetimeMs: number,
  nowMs: number,
  random: number,
): number {
  const { marginMs, jitterMs } = effectiveTiming(timing, lifetimeMs);
  const at = expiresAtMs - marginMs - random * jitterMs;
  return Math.max(0, Math.round(at - nowMs));
}

/**
 * Retry delays after a failed sign-in or refresh: 1, 2, 5, 10, 20, then 30 s, each ±20 %. A rate
 * limit starts at 10 s: every attempt counts against the limit, so quick retries only prolong it.
 */
const RETRY_STEPS_MS = [1_000, 2_000, 5_000, 10_000, 20_000, 30_000] as const;

export function retryDelayMs(consecutiveFailures: number, random: number, rateLimited = false): number {
  const attempt = rateLimited ? Math.max(consecutiveFailures, 4) : consecutiveFailures;
  const step = RETRY_STEPS_MS[Math.min(Math.max(attempt - 1, 0), RETRY_STEPS_MS.length - 1)]!;
  return Math.round(step * (0.8 + 0.4 * random));
}
