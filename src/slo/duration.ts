/**
 * Durations as people write them in spec files ('500ms', '1s', '5m', '1h', '28d') and as
 * Prometheus range selectors want them.
 */
import { z } from 'zod';

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;

/** Seconds in a duration string, or undefined when it is not one. */
export function parseDurationSeconds(text: string): number | undefined {
  const match = DURATION_PATTERN.exec(text.trim());
  if (!match) return undefined;
  const [, amount, unit] = match;
  return Number(amount) * (UNIT_SECONDS[unit as string] ?? Number.NaN);
}

/** A duration string such as '1s' or '28d'; validated, kept as written. */
export const durationSchema = z.string().refine((text) => parseDurationSeconds(text) !== undefined, {
  message: 'not a duration — write it like 500ms, 1s, 5m, 1h or 28d',
});

/** Seconds → the shortest Prometheus duration that says the same ('90s' → '90s', 3600 → '1h'). */
export function formatPromDuration(seconds: number): string {
  if (seconds < 1) return `${Math.max(1, Math.round(seconds * 1000))}ms`;
  const whole = Math.round(seconds);
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
  ] as const) {
    if (whole % size === 0) return `${whole / size}${unit}`;
  }
  return `${whole}s`;
}
