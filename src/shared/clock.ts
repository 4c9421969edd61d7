/**
 * The harness's clocks, passed explicitly. Latency is measured on the monotonic clock
 * (`now()` in milliseconds, sub-millisecond resolution); wall time is only used where a
 * remote timestamp (commit_timestamp) must be compared, and that view is labelled skew-sensitive.
 */
export interface Clock {
  /** Monotonic milliseconds (performance.now()). */
  now(): number;
  /** Wall-clock milliseconds since the epoch (Date.now()). */
  wallNow(): number;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
};

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
