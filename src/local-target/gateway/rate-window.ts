/**
 * Events per second for plan limits (joins/s, messages/s). Two one-second buckets give a sliding
 * estimate, so a burst straddling a second boundary is still seen as one burst.
 */
import type { Clock } from '../../shared/index.js';

export class RateWindow {
  private bucketStart = 0;
  private current = 0;
  private previous = 0;

  constructor(private readonly clock: Clock) {}

  private roll(now: number): void {
    const elapsed = now - this.bucketStart;
    if (elapsed < 1000) return;
    this.previous = elapsed < 2000 ? this.current : 0;
    this.current = 0;
    this.bucketStart = now - (elapsed % 1000);
  }

  /** Events in the last second, estimated. */
  rate(): number {
    const now = this.clock.now();
    this.roll(now);
    const fractionLeft = 1 - (now - this.bucketStart) / 1000;
    return this.current + this.previous * fractionLeft;
  }

  /** Count one event; returns the rate including it. */
  hit(): number {
    const rate = this.rate();
    this.current += 1;
    return rate + 1;
  }
}
