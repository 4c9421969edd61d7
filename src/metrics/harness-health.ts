/**
 * Harness health: is the harness itself saturated? A canary whose own event loop is stalled reports
 * latency that belongs to the harness, not to Realtime. Every interval this samples the p99
 * event-loop delay (perf_hooks.monitorEventLoopDelay) and the process CPU share of one core
 * (process.cpuUsage), sets the canary_harness_* gauges and keeps an `overloaded` verdict that the
 * probe reads to flag measurements as untrusted.
 */
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import { CanaryError } from '../shared/index.js';
import type { CanaryMetrics } from './registry.js';

export interface HarnessHealthThresholds {
  /** Overloaded when the window's p99 event-loop delay exceeds this. */
  eventLoopLagP99Ms: number;
  /** Overloaded when CPU use over the window exceeds this fraction of one core. */
  cpuRatio: number;
}

export const DEFAULT_HARNESS_THRESHOLDS: HarnessHealthThresholds = { eventLoopLagP99Ms: 50, cpuRatio: 0.9 };

export interface HarnessHealthSnapshot {
  overloaded: boolean;
  eventLoopLagP99Ms: number;
  cpuRatio: number;
  /** Samples taken since start(); 0 means the numbers above are not measurements yet. */
  samples: number;
}

export interface HarnessHealthOptions {
  /** Only the three harness gauges are written. */
  metrics: Pick<CanaryMetrics, 'harnessEventLoopLag' | 'harnessCpu' | 'harnessOverloaded'>;
  thresholds?: Partial<HarnessHealthThresholds>;
  /** Sampling window; 1 s by default. */
  intervalMs?: number;
}

export interface HarnessHealth {
  start(): void;
  stop(): void;
  isOverloaded(): boolean;
  snapshot(): HarnessHealthSnapshot;
  /** Close the current window now (the timer does this every interval). */
  sample(): HarnessHealthSnapshot;
}

/** Resolution of the delay histogram: finer costs CPU, coarser hides short stalls. */
const LOOP_DELAY_RESOLUTION_MS = 10;

export function createHarnessHealth(options: HarnessHealthOptions): HarnessHealth {
  const thresholds = { ...DEFAULT_HARNESS_THRESHOLDS, ...options.thresholds };
  const intervalMs = options.intervalMs ?? 1000;
  if (!Number.isFinite(intervalMs) || intervalMs < 50) {
    throw new CanaryError(
      'CONFIG_INVALID',
      `harness health intervalMs must be at least 50, got ${intervalMs}`,
      {
        hint: 'use a sampling interval of 50 ms or more (1000 ms is the default)',
      },
    );
  }
  for (const [name, value] of Object.entries(thresholds)) {
    if (!Number.isFinite(value) || value <= 0) {
      throw new CanaryError('CONFIG_INVALID', `harness health threshold ${name} must be > 0, got ${value}`, {
        hint: 'give a positive number, e.g. eventLoopLagP99Ms: 50, cpuRatio: 0.9',
      });
    }
  }
  const { metrics } = options;

  let histogram: IntervalHistogram | null = null;
  let timer: NodeJS.Timeout | null = null;
  let windowStartedAt = 0;
  let windowCpu = process.cpuUsage();
  let last: HarnessHealthSnapshot = { overloaded: false, eventLoopLagP99Ms: 0, cpuRatio: 0, samples: 0 };

  function openWindow(): void {
    windowStartedAt = performance.now();
    windowCpu = process.cpuUsage();
    histogram?.reset();
  }

  function sample(): HarnessHealthSnapshot {
    const elapsedMs = performance.now() - windowStartedAt;
    const cpu = process.cpuUsage(windowCpu);
    // The histogram is empty if no delay was recorded yet in this window (e.g. a very short one).
    const lagMs = histogram && histogram.count > 0 ? histogram.percentile(99) / 1e6 : 0;
    const cpuRatio = elapsedMs > 0 ? (cpu.user + cpu.system) / 1000 / elapsedMs : 0;
    const overloaded = lagMs > thresholds.eventLoopLagP99Ms || cpuRatio > thresholds.cpuRatio;
    last = { overloaded, eventLoopLagP99Ms: lagMs, cpuRatio, samples: last.samples + 1 };
    metrics.harnessEventLoopLag.set(lagMs / 1000);
    metrics.harnessCpu.set(cpuRatio);
    metrics.harnessOverloaded.set(overloaded ? 1 : 0);
    openWindow();
    return last;
  }

  return {
    start() {
      if (timer) return;
      histogram = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
      histogram.enable();
      openWindow();
      timer = setInterval(sample, intervalMs);
      // Health sampling must never keep a finished run alive.
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
      histogram?.disable();
      histogram = null;
    },
    isOverloaded: () => last.overloaded,
    snapshot: () => ({ ...last }),
    sample,
  };
}
