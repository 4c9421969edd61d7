/**
 * Many lean subscribers in one process: all reach SUBSCRIBED and each receives every event, and the
 * test measures what a subscriber costs this process (heap and native memory per connected
 * subscriber, CPU per delivered event). The target runs in a child process so its own per-socket
 * memory and fan-out CPU are not counted. The figures are printed; the assertions are generous
 * ceilings that only catch gross regressions (the tight targets live in bench/).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeanSubscriber, type Subscriber, type SubscriberConfig } from '../../src/realtime/index.js';
import { systemClock } from '../../src/shared/index.js';
import { collectGarbage, startChildTarget, waitFor, type ChildTarget } from './clients-fixtures.js';

const SUBSCRIBERS = 300;
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

describe('lean subscribers at scale', () => {
  it(`run ${SUBSCRIBERS} subscribers in one process, each receiving every event, and measure their cost`, async () => {
    let subscribed = 0;
    let broadcasts = 0;
    let changes = 0;
    let errors = 0;
    const makeConfig = (index: number): SubscriberConfig => ({
      id: `lean-${index}`,
      supabaseUrl: child.info.url,
      anonKey: child.info.anonKey,
      accessToken: child.info.token,
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

    collectGarbage();
    const before = process.memoryUsage();
    for (let i = 0; i < SUBSCRIBERS; i += 1) {
      const subscriber = createLeanSubscriber(makeConfig(i));
      subscribers.push(subscriber);
      subscriber.start();
      // Connect in small waves, as a real ramp would, rather than one burst of sockets.
      if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await waitFor(`${SUBSCRIBERS * 2} channels SUBSCRIBED`, () => subscribed >= SUBSCRIBERS * 2, 60_000);
    collectGarbage();
    const after = process.memoryUsage();

    const cpuBefore = process.cpuUsage();
    child.command({ type: 'broadcast', count: BROADCASTS });
    await waitFor(
      'every broadcast at every subscriber',
      () => broadcasts >= BROADCASTS * SUBSCRIBERS,
      60_000,
    );
    const cpu = process.cpuUsage(cpuBefore);
    child.command({ type: 'insert', count: ROWS });
    await waitFor('every row change at every subscriber', () => changes >= ROWS * SUBSCRIBERS, 60_000);

    const heapPerSubscriber = (after.heapUsed - before.heapUsed) / SUBSCRIBERS;
    const nativePerSubscriber =
      (after.external + after.arrayBuffers - before.external - before.arrayBuffers) / SUBSCRIBERS;
    const rssPerSubscriber = (after.rss - before.rss) / SUBSCRIBERS;
    const cpuPerDelivery = (cpu.user + cpu.system) / (BROADCASTS * SUBSCRIBERS);
    console.log(
      [
        `lean subscribers: ${SUBSCRIBERS} (2 channels each, one socket), target in a child process`,
        `  heap per subscriber     ${(heapPerSubscriber / 1024).toFixed(2)} KB`,
        `  external+arrayBuffers   ${(nativePerSubscriber / 1024).toFixed(2)} KB`,
        `  rss per subscriber      ${(rssPerSubscriber / 1024).toFixed(2)} KB (noisy)`,
        `  CPU per broadcast delivery ${cpuPerDelivery.toFixed(2)} µs over ${BROADCASTS * SUBSCRIBERS} deliveries`,
      ].join('\n'),
    );

    expect(errors).toBe(0);
    expect(broadcasts).toBe(BROADCASTS * SUBSCRIBERS);
    expect(changes).toBe(ROWS * SUBSCRIBERS);
    // Ceilings an order of magnitude above the measured cost: they catch leaks, not tuning.
    expect(heapPerSubscriber).toBeLessThan(64 * 1024);
    expect(cpuPerDelivery).toBeLessThan(500);
  }, 180_000);
});
