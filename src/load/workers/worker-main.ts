/**
 * Entry of one worker process of `canary load --workers N`: it receives its shard, the scenario
 * and the parent's live environment over IPC, runs its share of the load with runScenario, and
 * sends back its result and its registry as JSON for the exact merge. Ctrl-C reaches the whole
 * process group; workers ignore it and stop when the parent says so.
 */
import { createMetrics } from '../../metrics/index.js';
import { createLogger, isCanaryError } from '../../shared/index.js';
import { runScenario, type LoadProgress } from '../run-scenario.js';
import { runBoundMs } from '../scenario-schema.js';
import { setUpShard, type ShardSetup } from './shard-role.js';
import { receiveEnvironment, type FromWorker, type ToWorker } from './worker-protocol.js';

const send = (message: FromWorker): void => {
  process.send?.(message);
};

/** The last message must reach the parent before the channel closes. */
const sendLast = (message: FromWorker): Promise<void> =>
  new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });

const abort = new AbortController();
let go: () => void = () => {};
const started = new Promise<void>((resolve) => (go = resolve));
let setup: ShardSetup | undefined;
const earlyFeed: ToWorker[] = [];

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => {});
process.on('disconnect', () => abort.abort());

process.on('message', (raw: ToWorker) => {
  switch (raw.type) {
    case 'init':
      void run(raw);
      return;
    case 'go':
      go();
      return;
    case 'feed':
      if (setup?.follower) setup.follower.receive(raw.message);
      else earlyFeed.push(raw);
      return;
    case 'abort':
      abort.abort();
      return;
  }
});

async function run(init: Extract<ToWorker, { type: 'init' }>): Promise<void> {
  const logger = createLogger({ level: process.env.LOG_LEVEL === 'debug' ? 'debug' : 'warn' }).child({
    worker: init.shard.index,
  });
  try {
    const { registry, metrics } = createMetrics();
    const env = await receiveEnvironment(init.env, { metrics });
    setup = setUpShard({
      shard: init.shard,
      scenario: init.scenario,
      probe: init.probe,
      emit: (message) => send({ type: 'feed', message }),
      signal: abort.signal,
      waitForEndMs: runBoundMs(init.scenario, init.scenario.deadline ?? init.probe.deadline),
    });
    for (const queued of earlyFeed.splice(0))
      if (queued.type === 'feed') setup.follower?.receive(queued.message);
    send({ type: 'ready' });
    await started;
    let lastProgress = 0;
    const result = await runScenario({
      scenario: setup.scenario,
      env,
      probe: init.probe,
      metrics,
      allowRemote: init.allowRemote,
      logger,
      shard: setup.role,
      ...(setup.signal ? { signal: setup.signal } : {}),
      ...(init.tickMs !== undefined ? { tickMs: init.tickMs } : {}),
      onProgress: (progress: LoadProgress) => {
        const now = Date.now();
        if (now - lastProgress < 250 && progress.phase === 'running') return;
        lastProgress = now;
        send({ type: 'progress', progress });
      },
    });
    if (!setup.follower) send({ type: 'feed', message: { type: 'end' } });
    await sendLast({
      type: 'result',
      result,
      metrics: await registry.getMetricsAsJSON(),
      feedEvents: setup.follower?.events ?? result.published,
    });
  } catch (error) {
    await sendLast(
      isCanaryError(error)
        ? {
            type: 'error',
            code: error.code,
            message: error.message,
            ...(error.hint ? { hint: error.hint } : {}),
          }
        : {
            type: 'error',
            code: 'INTERNAL',
            message: error instanceof Error ? error.message : String(error),
          },
    );
  } finally {
    process.disconnect?.();
  }
}
