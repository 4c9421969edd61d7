import { describe, expect, it } from 'vitest';
import { createManualClock } from './manual-clock.js';

describe('manual clock', () => {
  it('fires timers in due order only when advanced past them', async () => {
    const clock = createManualClock();
    const fired: string[] = [];
    clock.setTimer(() => fired.push(`b@${clock.now()}`), 200);
    clock.setTimer(() => fired.push(`a@${clock.now()}`), 100);
    const cancelled = clock.setTimer(() => fired.push('never'), 150);
    clock.clearTimer(cancelled);
    await clock.advance(99);
    expect(fired).toEqual([]);
    await clock.advance(101);
    expect(fired).toEqual(['a@100', 'b@200']);
    expect(clock.now()).toBe(200);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('runs a loop of sleeps to the end of the advanced time, letting each await settle', async () => {
    const clock = createManualClock({ start: 1000, wallStart: 5000 });
    const wakes: number[] = [];
    const loop = (async () => {
      while (clock.now() < 1500) {
        await clock.sleep(100);
        wakes.push(clock.now());
      }
    })();
    await clock.advance(10_000);
    await loop;
    expect(wakes).toEqual([1100, 1200, 1300, 1400, 1500]);
    expect(clock.wallNow()).toBe(5000 + 10_000);
  });

  it('ends a sleep at once when its signal aborts', async () => {
    const clock = createManualClock();
    const controller = new AbortController();
    const slept = clock.sleep(60_000, controller.signal);
    controller.abort();
    await slept;
    expect(clock.now()).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
  });
});
