import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { duration, durationText } from './duration.js';

describe('duration fields in config files', () => {
  it('read the shared grammar and errors echo the bad value', () => {
    const field = z.object({ d: duration() });
    expect(field.parse({ d: '1h30m' }).d).toBe(5_400_000);
    expect(field.parse({ d: '1w' }).d).toBe(7 * 86_400_000);
    expect(field.parse({ d: 0 }).d).toBe(0);
    const config = field.safeParse({ d: '1 hour' });
    expect(config.success).toBe(false);
    expect(config.error?.issues[0]?.message).toBe(
      '"1 hour" is not a duration — write it like 250ms, 2s, 1m, 1h30m, 28d or 1w',
    );
    expect(field.safeParse({ d: 1500 }).error?.issues[0]?.message).toContain(
      '1500 has no unit — write it like 1500ms',
    );
    expect(z.object({ w: durationText() }).parse({ w: '28d' }).w).toBe('28d');
    expect(z.object({ w: durationText() }).safeParse({ w: '28 days' }).error?.issues[0]?.message).toContain(
      '"28 days" is not a duration',
    );
  });
});
