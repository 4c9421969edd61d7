import { describe, expect, it } from 'vitest';
import { systemClock } from '../../shared/index.js';
import { OrderedSender } from './ordered-sender.js';

describe('ordered sender', () => {
  it('writes immediately when nothing is delayed or queued', () => {
    const written: string[] = [];
    const sender = new OrderedSender(systemClock, (frame) => written.push(String(frame)));
    sender.send('a', 0);
    expect(written).toEqual(['a']);
  });

  it('keeps send order when later frames have shorter delays, and never shortens a delay', async () => {
    const written: { frame: string; at: number }[] = [];
    const start = performance.now();
    const sender = new OrderedSender(systemClock, (frame) =>
      written.push({ frame: String(frame), at: performance.now() - start }),
    );
    sender.send('slow', 60);
    sender.send('fast', 5);
    sender.send('none', 0);
    expect(written).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(written.map((entry) => entry.frame)).toEqual(['slow', 'fast', 'none']);
    expect(written[0]!.at).toBeGreaterThanOrEqual(60);
  });

  it('drops what is queued when cleared', async () => {
    const written: string[] = [];
    const sender = new OrderedSender(systemClock, (frame) => written.push(String(frame)));
    sender.send('x', 20);
    sender.clear();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(written).toEqual([]);
    expect(sender.pending).toBe(0);
  });
});
