import { describe, expect, it } from 'vitest';
import { durationFlag, formatDuration, formatPromDuration, parseDurationMs } from './duration.js';

describe('the one duration grammar', () => {
  it('reads milliseconds, seconds, compound durations, days and weeks', () => {
    expect(parseDurationMs('250ms')).toBe(250);
    expect(parseDurationMs('2s')).toBe(2000);
    expect(parseDurationMs('1.5m')).toBe(90_000);
    expect(parseDurationMs('1h30m')).toBe(5_400_000);
    expect(parseDurationMs('28d')).toBe(28 * 86_400_000);
    expect(parseDurationMs('1w')).toBe(7 * 86_400_000);
    expect(parseDurationMs('1w2d3h4m5s6ms')).toBe(((((7 + 2) * 24 + 3) * 60 + 4) * 60 + 5) * 1000 + 6);
  });

  it('rejects units out of order, repeated units, unknown units and bare numbers', () => {
    for (const text of ['30m1h', '1m1m', '5y', '10', '', 'soon', '1h 30m', '-1s']) {
      expect(parseDurationMs(text), text).toBeUndefined();
    }
  });

  it('formats milliseconds back into the grammar, which Prometheus also reads', () => {
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(28 * 86_400_000)).toBe('4w');
    expect(formatDuration(1500)).toBe('1s500ms');
    expect(formatPromDuration(90)).toBe('1m30s');
    for (const ms of [1, 999, 61_000, 3_600_000, 90_061_001])
      expect(parseDurationMs(formatDuration(ms))).toBe(ms);
  });

  it('reads flags with the same grammar and names the flag and the bad value', () => {
    expect(durationFlag('--duration', '1h30m')).toBe(5_400_000);
    expect(() => durationFlag('--duration', '90 seconds')).toThrow(
      '--duration "90 seconds" is not a duration — write it like 250ms, 2s, 1m, 1h30m, 28d or 1w',
    );
    expect(() => durationFlag('--summary-every', '100ms', 500)).toThrow(
      '--summary-every "100ms" is shorter than 500ms',
    );
  });
});
