/**
 * Stage arithmetic shared by the ramping executors (k6's ramping-vus / ramping-arrival-rate model):
 * each stage moves linearly from the previous stage's target to its own over its duration.
 */
import { z } from 'zod';
import { duration } from '../config/index.js';

export const stageSchema = z.strictObject({
  /** How long this stage takes (e.g. 10s). */
  duration: duration({ min: 1, max: 24 * 3_600_000 }),
  /** The value reached at the end of the stage. */
  target: z.number().min(0),
});

export type Stage = z.output<typeof stageSchema>;

export function stagesDurationMs(stages: readonly Stage[]): number {
  return stages.reduce((sum, stage) => sum + stage.duration, 0);
}

/** The value the stages want `elapsedMs` after the start, interpolated linearly; holds the last target after the end. */
export function valueAt(stages: readonly Stage[], start: number, elapsedMs: number): number {
  let from = start;
  let stageStart = 0;
  for (const stage of stages) {
    const stageEnd = stageStart + stage.duration;
    if (elapsedMs < stageEnd) {
      const progress = Math.max(0, (elapsedMs - stageStart) / stage.duration);
      return from + (stage.target - from) * progress;
    }
    from = stage.target;
    stageStart = stageEnd;
  }
  return from;
}

/** Highest value any stage reaches (targets are the extremes of a piecewise-linear ramp). */
export function peakValue(stages: readonly Stage[], start: number): number {
  return Math.max(start, ...stages.map((stage) => stage.target));
}

/**
 * Events an arrival-rate ramp should have started by `elapsedMs`: the integral of the rate
 * (events/s) over time, so publishing keeps pace even when ticks are late.
 */
export function arrivalsBy(stages: readonly Stage[], startRate: number, elapsedMs: number): number {
  let total = 0;
  let from = startRate;
  let stageStart = 0;
  for (const stage of stages) {
    const span = Math.min(stage.duration, Math.max(0, elapsedMs - stageStart));
    if (span > 0) {
      const rateAtSpanEnd = from + (stage.target - from) * (span / stage.duration);
      total += ((from + rateAtSpanEnd) / 2) * (span / 1000);
    }
    if (elapsedMs <= stageStart + stage.duration) return total;
    from = stage.target;
    stageStart += stage.duration;
  }
  return total + from * (Math.max(0, elapsedMs - stageStart) / 1000);
}
