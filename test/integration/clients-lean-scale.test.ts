/**
 * Many subscribers in one process: all reach SUBSCRIBED and each receives every event, and the test
 * measures what a subscriber costs this process (heap and native memory per connected subscriber,
 * CPU per delivered broadcast), for the lean client at scale and for supabase-js as a comparison.
 * The target runs in a child process so its own per-socket memory and fan-out CPU are not counted.
 * The figures are printed; the assertions are generous ceilings that only catch gross regressions
 * (the tight targets live in bench/).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLeanSubscriber,
  createSupabaseJsSubscriber,
  fixedToken,
  type ClientKind,
  type Subscriber,
  type SubscriberConfig,
} from '../../src/realtime/index.js';
import { systemClock } from '../../src/shared/index.js';
import { collectGarbage, startChildTarget, waitFor, type ChildTarget } from './clients-fixtures.js';

const BROADCASTS = 20;
const ROWS = 3;

let child: ChildTarget;
const subscribers: Subscriber[] = [];

beforeAll(async () => {
  child = await startChildTarget();
}, 90_000);

afterAll(async () => {
  await Promise.all(subscribers.map((subscriber) => subscriber.stop()));
  await child?.stop();
}, 30_000);

interface Cost {
  heapPerSubscriber: number;
  cpuPerDelivery: number;
  errors: number;
}

async function measure(kind: ClientKind, count: number): Promise<Cost> {
  let subscribed = 0;
  let broadcasts = 0;
  let changes = 0;
  let errors = 0;
  const makeConfig = (index: number): SubscriberConfig => ({
    id: `${kind}-${index}`,
    supabaseUrl: child.info.url,
    anonKey: child.info.anonKey,
    tokens: fixedToken(child.info.token),
    schema: 'public',
    table: 'session_assignments',
    changesChannel: 'assignment-changes',
    broadcastChannel: child.info.broadcastChannel,
    broadcastEvent: 'new_assignment',
    paths: ['postgres_changes', 'broadcast'],
    clock: systemClock,
    handlers: {
      onStatus: (change) => {
        if (change.status === 'SUBSCRIBED') subscribed += 1;
        else errors += 1;
      },
      onDelivery: (delivery) => {
        if (delivery.keys.eventId === undefined) errors += 1;
        if (delivery.path === 'broadcast') broadcasts += 1;
        else changes += 1;
      },
    },
  });
  const create = kind === 'lean' ? createLeanSubscriber : createSupabaseJsSubscriber;
  const mine: Subscriber[] = [];

  collectGarbage();
  const before = process.memoryUsage();
  for (let i = 0; i < count; i += 1) {
    const subscriber = create(makeConfig(i));
    mine.push(subscriber);
    subscribers.push(subscriber);
    subscriber.start();
    // Connect in small waves, as a real ramp would, rather than one burst of sockets.
    if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await waitFor(`${count * 2} channels SUBSCRIBED`, () => subscribed >= count * 2, 60_000);
  collectGarbage();
  const after = process.memoryUsage();

  const cpuBefore = process.cpuUsage();
  child.command({ type: 'broadcast', count: BROADCASTS });
  await waitFor('every broadcast at every subscriber', () => broadcasts >= BROADCASTS * count, 60_000);
  const cpu = process.cpuUsage(cpuBefore);
  child.command({ type: 'insert', count: ROWS });
  await waitFor('every row change at every subscriber', () => changes >= ROWS * count, 60_000);
  expect(broadcasts).toBe(BROADCASTS * count);
  expect(changes).toBe(ROWS * count);
  await Promise.all(mine.map((subscriber) => subscriber.stop()));

  const cost: Cost = {
    heapPerSubscriber: (after.heapUsed - before.heapUsed) / count,
    cpuPerDelivery: (cpu.user + cpu.system) / (BROADCASTS * count),
    errors,
  };
  const native = (after.external + after.arrayBuffers - before.external - before.arrayBuffers) / count;
  console.log(
    [
      `${kind} subscribers: ${count} (2 channels each), target in a child process`,
      `  heap per subscriber          ${(cost.heapPerSubscriber / 1024).toFixed(2)} KB`,
      `  external+arrayBuffers        ${(native / 1024).toFixed(2)} KB`,
      `  rss per subscriber (noisy)   ${((after.rss - before.rss) / count / 1024).toFixed(2)} KB`,
      `  CPU per broadcast delivery   ${cost.cpuPerDelivery.toFixed(2)} µs over ${BROADCASTS * count} deliveries`,
    ].join('\n'),
  );
  return cost;
}

describe('subscribers at scale', () => {
  it('300 lean subscribers in one process each receive every event, at a measured cost', async () => {
    const cost = await measure('lean', 300);
    expect(cost.errors).toBe(0);
    // Ceilings an order of magnitude above the measured cost: they catch leaks, not tuning.
    expect(cost.heapPerSubscriber).toBeLessThan(64 * 1024);
    expect(cost.cpuPerDelivery).toBeLessThan(500);
  }, 180_000);

  it('40 supabase-js subscribers do the same, for comparison', async () => {
    const cost = await measure('supabase-js', 40);
    expect(cost.errors).toBe(0);
    expect(cost.heapPerSubscriber).toBeLessThan(1024 * 1024);
  }, 180_000);
});
