import { describe, expect, it } from 'vitest';
import { RateWindow } from './rate-window.js';

function manualClock(): { now: () => number; wallNow: () => number; advance: (ms: number) => void } {
  let now = 10_000;
  return { now: () => now, wallNow: () => now, advance: (ms) => (now += ms) };
}

describe('rate window', () => {
  it('counts events within the last second and forgets them after two', () => {
    const clock = manualClock();
    const window = new RateWindow(clock);
    for (let i = 0; i < 100; i++) window.hit();
    expect(window.rate()).toBe(100);
    expect(window.hit()).toBe(101);
    clock.advance(2500);
    expect(window.rate()).toBe(0);
  });

  it('sees a burst that straddles a second boundary as one burst', () => {
    const clock = manualClock();
    const window = new RateWindow(clock);
    clock.advance(900);
    for (let i = 0; i < 80; i++) window.hit();
    clock.advance(200);
    for (let i = 0; i < 80; i++) window.hit();
    expect(window.rate()).toBeGreaterThan(100);
  });
});
