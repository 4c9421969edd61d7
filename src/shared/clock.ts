/**
 * The harness's clocks, passed explicitly. Latency is measured on the monotonic clock
 * (`now()` in milliseconds, sub-millisecond resolution); wall time is only used where a
 * remote timestamp (commit_timestamp) must be compared, and that view is labelled skew-sensitive.
 *
 * A `TimerClock` also schedules: what sleeps or waits (load executors, the scheduler's backoff)
 * takes one, so unit tests run it on a manual clock (./manual-clock.ts) — minutes of a plan in
 * milliseconds, the same every time — and production on real time (`systemClock`).
 */
export interface Clock {
  /** Monotonic milliseconds (performance.now()). */
  now(): number;
  /** Wall-clock milliseconds since the epoch (Date.now()). */
  wallNow(): number;
}

/** An opaque handle for cancelling a timer. */
export interface Timer {
  readonly __timer: unique symbol;
}

export interface TimerClock extends Clock {
  /** Calls `callback` once, `ms` from now on this clock. */
  setTimer(callback: () => void, ms: number): Timer;
  clearTimer(timer: Timer): void;
  /** Resolves `ms` from now on this clock, or at once when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Sleeps on `clock`'s timers; at once when the signal is (or becomes) aborted. */
export function sleepOn(
  clock: Pick<TimerClock, 'setTimer' | 'clearTimer'>,
  ms: number,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = clock.setTimer(done, ms);
    function done(): void {
      clock.clearTimer(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export const systemClock: TimerClock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimer: (callback, ms) => setTimeout(callback, ms) as unknown as Timer,
  clearTimer: (timer) => clearTimeout(timer as unknown as NodeJS.Timeout),
  sleep: (ms, signal) => sleepOn(systemClock, ms, signal),
};

/** Real-time sleep (systemClock.sleep). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return systemClock.sleep(ms, signal);
}
