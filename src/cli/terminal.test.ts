import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatMs, liveLines, progressBar, takeOverSignals } from './terminal.js';

function stream(tty: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  const chunks: string[] = [];
  const through = new PassThrough();
  through.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  Object.assign(through, { isTTY: tty });
  return { stream: through as unknown as NodeJS.WriteStream, text: () => chunks.join('') };
}

describe('terminal', () => {
  it('draws a progress bar clamped to 0…100 %', () => {
    expect(progressBar(0.5, 10)).toBe('[#####-----] 50%');
    expect(progressBar(2, 4)).toBe('[####] 100%');
    expect(progressBar(Number.NaN, 4)).toBe('[----] 0%');
  });

  it('prints latencies in ms below a second, in s above, and a dash when there is none', () => {
    expect(formatMs(12.345)).toBe('12.3ms');
    expect(formatMs(1250)).toBe('1.25s');
    expect(formatMs(null)).toBe('-');
    expect(formatMs(undefined)).toBe('-');
    expect(formatMs(1234.4, 'whole')).toBe('1234ms');
    expect(formatMs(null, 'whole')).toBe('-');
  });

  it('redraws in place on a terminal and prints plain lines elsewhere', async () => {
    const tty = stream(true);
    const onTty = liveLines(tty.stream);
    onTty.draw(['a', 'b']);
    onTty.draw(['c']);
    const plain = stream(false);
    const elsewhere = liveLines(plain.stream);
    elsewhere.draw(['a', 'b']);
    elsewhere.draw(['c']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(tty.text()).toBe('a\nb\n\x1b[2A\x1b[0Jc\n');
    expect(plain.text()).toBe('a\nb\nc\n');
  });

  it('owns SIGINT while a run drains and gives the other listeners back afterwards', () => {
    const other = (): void => {};
    process.on('SIGINT', other);
    const handler = (): void => {};
    const takeover = takeOverSignals(handler);
    expect(process.listeners('SIGINT')).toEqual([handler]);
    const late = (): void => {};
    process.on('SIGINT', late);
    takeover.retake();
    expect(process.listeners('SIGINT')).toEqual([handler]);
    takeover.restore();
    expect(process.listeners('SIGINT')).toEqual(expect.arrayContaining([other, late]));
    expect(process.listeners('SIGINT')).not.toContain(handler);
    process.off('SIGINT', other);
    process.off('SIGINT', late);
  });
});
