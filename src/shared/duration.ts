/**
 * The one duration grammar of every config file and command-line flag:
 *
 *   duration = part { part }            e.g. 250ms  2s  1.5m  1h30m  28d  1w
 *   part     = number unit              units from largest to smallest, each at most once
 *   number   = digits [ "." digits ]
 *   unit     = "w" | "d" | "h" | "m" | "s" | "ms"
 *
 * A week is 7 days and a day 24 hours (as in Prometheus). Inside the code durations are
 * milliseconds or seconds; text is parsed once, at the edge, and errors echo what was written.
 */
import { CanaryError } from './errors.js';

const UNIT_MS = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;
type Unit = keyof typeof UNIT_MS;
const UNIT_ORDER: readonly Unit[] = ['w', 'd', 'h', 'm', 's', 'ms'];
const PART = /(\d+(?:\.\d+)?)(ms|w|d|h|m|s)/y;

/** How a duration is written, for error messages and docs. */
export const DURATION_EXAMPLES = '250ms, 2s, 1m, 1h30m, 28d or 1w';

/** Milliseconds in a duration string, or undefined when it is not one (see the grammar above). */
export function parseDurationMs(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  PART.lastIndex = 0;
  let total = 0;
  let lastRank = -1;
  while (PART.lastIndex < trimmed.length) {
    const match = PART.exec(trimmed);
    if (!match) return undefined;
    const unit = match[2] as Unit;
    const rank = UNIT_ORDER.indexOf(unit);
    if (rank <= lastRank) return undefined;
    lastRank = rank;
    total += Number(match[1]) * UNIT_MS[unit];
  }
  return Number.isFinite(total) ? total : undefined;
}

/** Seconds in a duration string, or undefined when it is not one. */
export function parseDurationSeconds(text: string): number | undefined {
  const ms = parseDurationMs(text);
  return ms === undefined ? undefined : ms / 1000;
}

/** The message for text that is not a duration: it names the value and shows the grammar. */
export function durationProblem(value: unknown): string {
  return `"${String(value)}" is not a duration — write it like ${DURATION_EXAMPLES}`;
}

/**
 * Milliseconds → the shortest text in the grammar that says the same, largest units first
 * (90_000 → '1m30s', 3_600_000 → '1h', 1500 → '1s500ms'). Also a valid Prometheus duration.
 */
export function formatDuration(ms: number): string {
  if (!(ms > 0)) return '0s';
  let rest = Math.round(ms);
  let text = '';
  for (const unit of UNIT_ORDER) {
    const size = UNIT_MS[unit];
    const count = Math.floor(rest / size);
    if (count > 0) {
      text += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return text || '0s';
}

/** Seconds → a Prometheus range duration ('90s' → '1m30s', 3600 → '1h'; at least 1ms). */
export function formatPromDuration(seconds: number): string {
  return formatDuration(Math.max(1, Math.round(seconds * 1000)));
}

/**
 * A command-line duration flag → milliseconds; a CLI_USAGE error that echoes the flag and value
 * when it is not a duration or shorter than `minMs` (by default: not positive).
 */
export function durationFlag(flag: string, value: string, minMs = 1): number {
  const ms = parseDurationMs(value);
  if (ms === undefined) {
    throw new CanaryError('CLI_USAGE', `${flag} ${durationProblem(value)}`, {
      hint: `write it like ${DURATION_EXAMPLES}`,
    });
  }
  if (ms < minMs) {
    throw new CanaryError('CLI_USAGE', `${flag} "${value}" is shorter than ${formatDuration(minMs)}`, {
      hint: `give at least ${formatDuration(minMs)}`,
    });
  }
  return ms;
}
