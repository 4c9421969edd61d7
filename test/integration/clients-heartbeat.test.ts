/**
 * A hung server: the target (in a child process) is frozen with SIGSTOP, so sockets stay open but
 * nothing answers. Both subscriber kinds must notice through missed heartbeats, report a transport
 * CHANNEL_ERROR, and be SUBSCRIBED again once the server thaws.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLeanSubscriber,
  createSupabaseJsSubscriber,
  type RealtimePath,
  type Subscriber,
} from '../../src/realtime/index.js';
import {
  createRecorder,
  startChildTarget,
  subscribedOn,
  subscriberConfig,
  waitFor,
  type ChildTarget,
} from './clients-fixtures.js';

const BOTH_PATHS: RealtimePath[] = ['postgres_changes', 'broadcast'];
let child: ChildTarget;
const running: Subscriber[] = [];

beforeAll(async () => {
  child = await startChildTarget();
}, 90_000);

afterAll(async () => {
  child?.thaw();
  await Promise.all(running.map((subscriber) => subscriber.stop()));
  await child?.stop();
}, 30_000);

describe('heartbeats against a hung server', () => {
  it('both kinds report the heartbeat timeout as a transport error and resubscribe after the server recovers', async () => {
    const { url, anonKey, token, broadcastChannel } = child.info;
    const sjs = createRecorder();
    const lean = createRecorder();
    const setup = { url, anonKey, token, broadcastChannel };
    const options = { heartbeatIntervalMs: 300 };
    running.push(
      createSupabaseJsSubscriber(subscriberConfig({ ...setup, kind: 'supabase-js' }, sjs), options),
      createLeanSubscriber(subscriberConfig({ ...setup, kind: 'lean' }, lean), options),
    );
    for (const subscriber of running) subscriber.start();
    await waitFor(
      'both kinds SUBSCRIBED',
      () => subscribedOn(sjs, BOTH_PATHS)() && subscribedOn(lean, BOTH_PATHS)(),
    );

    child.freeze();
    try {
      await waitFor('both kinds to notice the missing heartbeat replies', () =>
        [sjs, lean].every((recorder) =>
          BOTH_PATHS.every((path) => recorder.trail(path).some((entry) => entry.startsWith('CHANNEL_ERROR'))),
        ),
      );
    } finally {
      child.thaw();
    }
    await waitFor(
      'both kinds SUBSCRIBED again after the server thawed',
      () => subscribedOn(sjs, BOTH_PATHS)() && subscribedOn(lean, BOTH_PATHS)(),
      30_000,
    );

    for (const recorder of [sjs, lean]) {
      for (const path of BOTH_PATHS) {
        const trail = recorder.trail(path);
        expect(trail[0]).toBe('SUBSCRIBED');
        expect(trail[1]).toBe('CHANNEL_ERROR:transport');
        expect(trail.at(-1)).toBe('SUBSCRIBED');
      }
    }
    const leanError = lean.statuses.find((change) => change.status === 'CHANNEL_ERROR');
    const sjsError = sjs.statuses.find((change) => change.status === 'CHANNEL_ERROR');
    console.log(
      `heartbeat loss reported as: lean "${leanError?.message}", supabase-js "${sjsError?.message}"`,
    );
    expect(leanError?.message).toBe('heartbeat timeout');
    expect(leanError?.message).toBe(sjsError?.message);
  }, 90_000);
});
