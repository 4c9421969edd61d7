/**
 * A TimerClock that moves only when told to: `advance(ms)` fires every timer that falls due, in
 * order of due time, letting the promise chains each one starts settle before the next. Unit
 * tests drive executors and the scheduler with it, so a ten-minute plan runs in milliseconds
 * and the same way every time.
 */
import { sleepOn, type Timer, type TimerClock } from './clock.js';

export interface ManualClock extends TimerClock {
  /** Moves time forward by `ms`, firing due timers in order; resolves once all have run. */
  advance(ms: number): Promise<void>;
  /** Timers set and not yet fired or cleared. */
  pendingTimers(): number;
}

interface Pending {
  at: number;
  seq: number;
  callback: () => void;
}

/** Lets every promise continuation that is ready run (they all do before the next macrotask). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function createManualClock(options: { start?: number; wallStart?: number } = {}): ManualClock {
  let now = options.start ?? 0;
  const wallOffset = (options.wallStart ?? 1_700_000_000_000) - now;
  let seq = 0;
  const timers = new Map<number, Pending>();
  const clock: ManualClock = {
    now: () => now,
    wallNow: () => now + wallOffset,
    setTimer(callback, ms) {
      const id = seq++;
      timers.set(id, { at: now + Math.max(0, ms), seq: id, callback });
      return id as unknown as Timer;
    },
    clearTimer(timer) {
      timers.delete(timer as unknown as number);
    },
    sleep: (ms, signal) => sleepOn(clock, ms, signal),
    async advance(ms) {
      const until = now + ms;
      await settle();
      for (;;) {
        let next: Pending | undefined;
        for (const timer of timers.values()) {
          if (timer.at > until) continue;
          if (!next || timer.at < next.at || (timer.at === next.at && timer.seq < next.seq)) next = timer;
        }
        if (!next) break;
        timers.delete(next.seq);
        now = Math.max(now, next.at);
        next.callback();
        await settle();
      }
      now = until;
      await settle();
    },
    pendingTimers: () => timers.size,
  };
  return clock;
}
