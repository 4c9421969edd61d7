/**
 * Many lean subscribers in one process: all reach SUBSCRIBED and each receives every event, and the
 * test measures what a subscriber costs this process (heap and native memory per connected
 * subscriber, CPU per delivered event). The target runs in a child process so its own per-socket
 * memory and fan-out CPU are not counted. The figures are printed; the assertions are generous
 * ceilings that only catch gross regressions (the tight targets live in bench/).
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeanSubscriber, type Subscriber, type SubscriberConfig } from '../../src/realtime/index.js';
import { systemClock } from '../../src/shared/index.js';
import { waitFor } from './clients-recorder.js';

const SUBSCRIBERS = 300;
const BROADCASTS = 20;
const ROWS = 3;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface TargetInfo {
  url: string;
  anonKey: string;
  token: string;
  broadcastChannel: string;
}

/** Child process: start a target with limits raised for the crowd, then obey simple commands. */
const CHILD_SOURCE = `
import { randomUUID } from 'node:crypto';
const { startTarget } = await import(process.env.TARGET_MODULE);
const target = await startTarget({
  limits: { maxConcurrentConnections: 5000, maxJoinsPerSecond: 100000, maxMessagesPerSecond: 10000000, maxChannelsPerConnection: 100 },
});
const mechanic = await target.createMechanic();
process.send({ type: 'ready', url: target.url, anonKey: target.anonKey, token: mechanic.token, broadcastChannel: target.broadcastChannel });
process.on('message', async (message) => {
  if (message.type === 'broadcast') {
    for (let i = 0; i < message.count; i += 1) {
      target.gateway.broadcast(target.broadcastChannel, 'new_assignment', {
        assignmentId: randomUUID(), sessionId: randomUUID(), status: 'queued', createdAt: new Date().toISOString(),
        metadata: { synthetic: true, canary_event_id: randomUUID(), probe: 'scale' },
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } else if (message.type === 'insert') {
    for (let i = 0; i < message.count; i += 1) {
      const session = await target.db.adminPool.query("insert into public.sessions (type) values ('free') returning id");
      await target.db.adminPool.query(
        "insert into public.session_assignments (session_id, status, offered_at, metadata) values ($1, 'queued', now(), $2)",
        [session.rows[0].id, JSON.stringify({ synthetic: true, canary_event_id: randomUUID(), probe: 'scale' })],
      );
    }
  } else if (message.type === 'stop') {
    await target.stop();
    process.exit(0);
  }
});
`;

let child: ChildProcess | undefined;
let info: TargetInfo;
const subscribers: Subscriber[] = [];

function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  for (let i = 0; i < 3; i += 1) gc();
}

beforeAll(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-scale-'));
  const script = path.join(dir, 'target-child.mjs');
  fs.writeFileSync(script, CHILD_SOURCE);
  child = fork(script, [], {
    cwd: repoRoot,
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, TARGET_MODULE: pathToFileURL(path.join(repoRoot, 'src/target/index.ts')).href },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  info = await new Promise<TargetInfo>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the target child did not start within 60 s')), 60_000);
    child?.once('message', (message) => {
      clearTimeout(timer);
      resolve(message as TargetInfo);
    });
    child?.once('exit', (code) => reject(new Error(`the target child exited with ${code}`)));
  });
}, 90_000);

afterAll(async () => {
  await Promise.all(subscribers.map((subscriber) => subscriber.stop()));
  if (child?.connected) {
    child.send({ type: 'stop' });
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, 10_000);
      child?.once('exit', () => {
        clearTimeout(timer);
        resolve(undefined);
      });
    });
  }
  if (child?.exitCode === null) child.kill();
}, 30_000);

describe('lean subscribers at scale', () => {
  it(`run ${SUBSCRIBERS} subscribers in one process, each receiving every event, and measure their cost`, async () => {
    let subscribed = 0;
    let broadcasts = 0;
    let changes = 0;
    let errors = 0;
    const makeConfig = (index: number): SubscriberConfig => ({
      id: `lean-${index}`,
      supabaseUrl: info.url,
      anonKey: info.anonKey,
      accessToken: info.token,
      schema: 'public',
      table: 'session_assignments',
      changesChannel: 'assignment-changes',
      broadcastChannel: info.broadcastChannel,
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
    child?.send({ type: 'broadcast', count: BROADCASTS });
    await waitFor(
      'every broadcast at every subscriber',
      () => broadcasts >= BROADCASTS * SUBSCRIBERS,
      60_000,
    );
    const cpu = process.cpuUsage(cpuBefore);
    child?.send({ type: 'insert', count: ROWS });
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
