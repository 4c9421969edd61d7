/**
 * `canary load --workers N`: the load split over N worker processes on this machine, so the
 * subscribers use every core. Processes (child_process.fork), not worker threads: each has its own
 * heap, garbage collector and event loop, so one busy worker's GC pause or lag does not stamp
 * late receive times on another's deliveries.
 *
 * The parent resolves the environment once (a local target is started once and shared), hands it
 * to every worker, lets them connect, then starts them together. Worker 0 publishes and announces
 * each event; the parent relays the announcements to the others. At the end the results and
 * registries are merged exactly (merge.ts).
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Registry } from 'prom-client';
import type { ProbeSpec } from '../../config/index.js';
import { addCounts, emptyCounts, outcomeCountsOf } from '../../metrics/index.js';
import type { ResolvedEnvironment } from '../../probe/index.js';
import { CanaryError, ErrorCodes, silentLogger, type ErrorCode, type Logger } from '../../shared/index.js';
import type { LoadProgress, LoadRunResult } from '../run-scenario.js';
import { loadProbeSpec } from '../run-scenario.js';
import { runBoundMs, type Scenario } from '../scenario-schema.js';
import { mergeLoadResults, mergeMetrics, sizeOf, type MetricsJson } from './merge.js';
import { transferEnvironment, type FromWorker, type ToWorker } from './worker-protocol.js';

export const MAX_WORKERS = 64;

export interface WorkerRunOptions {
  scenario: Scenario;
  env: ResolvedEnvironment;
  probe: ProbeSpec;
  workers: number;
  allowRemote?: boolean;
  signal?: AbortSignal;
  logger?: Logger;
  onProgress?: (progress: LoadProgress) => void;
  tickMs?: number;
  /** How long workers may take to connect before the run fails. */
  readyTimeoutMs?: number;
}

export interface WorkerReport {
  result: LoadRunResult;
  metrics: MetricsJson;
  /** Events this worker published (worker 0) or registered from the feed (the others). */
  feedEvents: number;
}

export interface WorkerRun {
  /** The merged result, as one process would report it. */
  result: LoadRunResult;
  /** The merged registry: histogram buckets and counters summed over the workers. */
  registry: Registry;
  workers: WorkerReport[];
}

export function checkWorkerCount(workers: number, scenario: Scenario): void {
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) {
    throw new CanaryError('CLI_USAGE', `--workers ${workers}: not a worker count from 1 to ${MAX_WORKERS}`, {
      hint: 'use about one worker per core, e.g. --workers 2 on a 2-core machine',
    });
  }
  if (workers > 1 && scenario.executor === 'connection-limit') {
    throw new CanaryError(
      'CLI_USAGE',
      `scenario "${scenario.name}" (connection-limit) cannot be split over workers: each level is judged on one process's subscribers`,
      { hint: 'run connection-limit discovery without --workers (or --shard)' },
    );
  }
}

function workerEntry(): { file: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  const extension = path.extname(here);
  const file = path.join(path.dirname(here), `worker-main${extension}`);
  const execArgv = [...process.execArgv];
  // Run from source (tests, `npm run canary`): the worker needs the same TypeScript loader.
  if (extension === '.ts' && !execArgv.some((arg) => arg.includes('tsx'))) execArgv.push('--import', 'tsx');
  return { file, execArgv };
}

export async function runWithWorkers(options: WorkerRunOptions): Promise<WorkerRun> {
  const { scenario, env, workers } = options;
  checkWorkerCount(workers, scenario);
  const logger = options.logger ?? silentLogger;
  const probe = loadProbeSpec(options.probe, scenario);
  const boundMs = runBoundMs(scenario, probe.deadline);
  const entry = workerEntry();
  const transferred = transferEnvironment(env);
  const children: ChildProcess[] = [];
  const reports: (WorkerReport | undefined)[] = new Array<WorkerReport | undefined>(workers);
  const errors: { index: number; code: string; message: string; hint?: string }[] = [];
  const progress: (LoadProgress | undefined)[] = new Array<LoadProgress | undefined>(workers);
  let ready = 0;
  let onReady: () => void = () => {};
  const allReady = new Promise<void>((resolve) => (onReady = resolve));
  const exited: Promise<void>[] = [];

  const toFollowers = (message: ToWorker): void => {
    for (const child of children.slice(1)) if (child.connected) child.send(message);
  };
  const endFollowers = (): void => toFollowers({ type: 'feed', message: { type: 'end' } });

  for (let index = 0; index < workers; index++) {
    const child = fork(entry.file, [], {
      execArgv: entry.execArgv,
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(child);
    child.on('message', (message: FromWorker) => {
      switch (message.type) {
        case 'ready':
          ready += 1;
          if (ready === workers) onReady();
          return;
        case 'feed':
          if (index === 0) toFollowers({ type: 'feed', message: message.message });
          return;
        case 'progress':
          progress[index] = message.progress;
          options.onProgress?.(sumProgress(progress));
          return;
        case 'result':
          reports[index] = {
            result: message.result,
            metrics: message.metrics,
            feedEvents: message.feedEvents,
          };
          if (index === 0) endFollowers();
          return;
        case 'error':
          errors.push({
            index,
            code: message.code,
            message: message.message,
            ...(message.hint ? { hint: message.hint } : {}),
          });
          if (index === 0) endFollowers();
          return;
      }
    });
    exited.push(
      new Promise((resolve) =>
        child.once('exit', (code, signal) => {
          if (!reports[index] && !errors.some((e) => e.index === index)) {
            errors.push({
              index,
              code: 'INTERNAL',
              message: `worker ${index} exited (${signal ?? `code ${code}`}) without a result`,
            });
          }
          if (index === 0) endFollowers();
          if (ready < workers) onReady();
          resolve();
        }),
      ),
    );
    const init: ToWorker = {
      type: 'init',
      shard: { index, count: workers },
      scenario,
      probe: options.probe,
      env: transferred,
      allowRemote: options.allowRemote === true,
      ...(options.tickMs !== undefined ? { tickMs: options.tickMs } : {}),
    };
    child.send(init);
  }

  const onAbort = (): void => {
    for (const child of children) if (child.connected) child.send({ type: 'abort' } satisfies ToWorker);
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const killAll = (): void => {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  try {
    const readyTimer = setTimeout(() => {
      if (ready < workers) {
        errors.push({
          index: -1,
          code: 'INTERNAL',
          message: `only ${ready} of ${workers} workers were ready in time`,
        });
        killAll();
      }
    }, options.readyTimeoutMs ?? 60_000);
    await allReady;
    clearTimeout(readyTimer);
    logger.info('workers ready', { workers });
    for (const child of children) if (child.connected) child.send({ type: 'go' } satisfies ToWorker);
    // Every worker stops by itself within the run bound; the slack covers the followers' drain.
    const hardStop = setTimeout(killAll, boundMs + probe.deadline + 60_000);
    await Promise.all(exited);
    clearTimeout(hardStop);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    killAll();
  }

  const complete = reports.filter((report): report is WorkerReport => report !== undefined);
  if (complete.length !== workers || !reports[0]) {
    const first = errors[0];
    throw new CanaryError(
      first && first.code in ErrorCodes ? (first.code as ErrorCode) : 'INTERNAL',
      `${workers - complete.length} of ${workers} load workers gave no result${first ? ` (${first.index >= 0 ? `worker ${first.index}: ` : ''}${first.message})` : ''}`,
      {
        hint:
          first?.hint ??
          'rerun with LOG_LEVEL=debug to see the workers’ logs; fewer --workers if the machine is short of memory',
      },
    );
  }
  return {
    result: mergeLoadResults(complete.map((report) => report.result)),
    registry: mergeMetrics(complete.map((report) => report.metrics)),
    workers: complete,
  };
}

function sumProgress(all: readonly (LoadProgress | undefined)[]): LoadProgress {
  const present = all.filter((p): p is LoadProgress => p !== undefined);
  const total: LoadProgress = {
    elapsedMs: Math.max(0, ...present.map((p) => p.elapsedMs)),
    plannedMs: Math.max(0, ...present.map((p) => p.plannedMs)),
    phase: present.every((p) => p.phase === 'draining') ? 'draining' : 'running',
    subscribersTarget: 0,
    subscribersConnected: 0,
    published: 0,
    ...emptyCounts(),
  };
  for (const p of present) addCounts(total, { ...sizeOf(p), ...outcomeCountsOf(p) });
  return total;
}
