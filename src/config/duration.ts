/**
 * Duration fields of config files, on the one grammar of src/shared/duration.ts (`250ms`, `2s`,
 * `1h30m`, `28d`, `1w`; a bare `0` is zero). Parsed once at the edge: `duration()` outputs
 * milliseconds, `durationText()` keeps the text as written (SLO windows and thresholds, which end
 * up in PromQL) once it has been checked.
 */
import { z } from 'zod';
import { DURATION_EXAMPLES, durationProblem, formatDuration, parseDurationMs } from '../shared/duration.js';

export { formatDuration, parseDurationMs, parseDurationSeconds } from '../shared/duration.js';

/** Milliseconds for a config value (a duration string, or the number 0), or undefined. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === 'number') return value === 0 ? 0 : undefined;
  if (value.trim() === '0') return 0;
  return parseDurationMs(value);
}

function problem(value: unknown): string {
  return typeof value === 'number'
    ? `${value} has no unit — write it like ${value}ms or ${DURATION_EXAMPLES}`
    : durationProblem(value);
}

interface Range {
  min?: number;
  max?: number;
}

function checkRange(value: unknown, ms: number, range: Range, ctx: z.RefinementCtx): boolean {
  const min = range.min ?? 0;
  const max = range.max ?? 7 * 24 * 3_600_000;
  if (ms < min || ms > max) {
    ctx.addIssue({
      code: 'custom',
      message: `${String(value)} is out of range — use between ${formatDuration(min)} and ${formatDuration(max)}`,
    });
    return false;
  }
  return true;
}

/** A duration field, output in milliseconds. */
export function duration(range: Range = {}) {
  return z
    .union([z.string(), z.number()])
    .meta({ description: `a duration: ${DURATION_EXAMPLES}` })
    .transform((value, ctx) => {
      const ms = parseDuration(value);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: problem(value) });
        return z.NEVER;
      }
      if (!checkRange(value, ms, range, ctx)) return z.NEVER;
      return ms;
    });
}

/** A duration field kept as written (after the same check), e.g. an SLO window '28d'. */
export function durationText(range: Range = {}) {
  return z
    .string()
    .meta({ description: `a duration: ${DURATION_EXAMPLES}` })
    .superRefine((value, ctx) => {
      const ms = parseDurationMs(value);
      if (ms === undefined) ctx.addIssue({ code: 'custom', message: problem(value) });
      else checkRange(value, ms, { max: Number.MAX_SAFE_INTEGER, ...range }, ctx);
    });
}
