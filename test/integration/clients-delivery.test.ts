/**
 * Both subscriber kinds against the local target: they reach SUBSCRIBED on both channels, receive
 * the same events on both paths with the right correlation keys, and measure the same latency.
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  createLeanSubscriber,
  createSupabaseJsSubscriber,
  type Delivery,
  type RealtimePath,
  type Subscriber,
} from '../../src/realtime/index.js';
import { createSupabaseClient, withTarget } from '../helpers/target.js';
import {
  broadcastPayload,
  createRecorder,
  insertAssignment,
  percentile,
  subscribedOn,
  subscriberConfig,
  waitFor,
  type InsertedAssignment,
  type Recorder,
} from './clients-fixtures.js';

const target = withTarget();
const running: Subscriber[] = [];

afterAll(async () => {
  await Promise.all(running.map((subscriber) => subscriber.stop()));
});

async function startBoth(vsn?: '1.0.0'): Promise<{ sjs: Recorder; lean: Recorder }> {
  const { url, anonKey, broadcastChannel } = target.current;
  const mechanic = await target.current.createMechanic();
  const sjs = createRecorder();
  const lean = createRecorder();
  const setup = { url, anonKey, token: mechanic.token, broadcastChannel };
  const options = vsn ? { vsn } : {};
  const subscribers = [
    createSupabaseJsSubscriber(subscriberConfig({ ...setup, kind: 'supabase-js' }, sjs), options),
    createLeanSubscriber(subscriberConfig({ ...setup, kind: 'lean' }, lean), options),
  ];
  running.push(...subscribers);
  for (const subscriber of subscribers) subscriber.start();
  await waitFor('both kinds SUBSCRIBED on both channels', () => {
    const paths: RealtimePath[] = ['postgres_changes', 'broadcast'];
    return subscribedOn(sjs, paths)() && subscribedOn(lean, paths)();
  });
  return { sjs, lean };
}

function find(recorder: Recorder, path: RealtimePath, eventId: string): Delivery | undefined {
  return recorder.deliveries.find((delivery) => delivery.path === path && delivery.keys.eventId === eventId);
}

async function publish(count: number): Promise<InsertedAssignment[]> {
  const published: InsertedAssignment[] = [];
  for (let i = 0; i < count; i += 1) {
    const inserted = await insertAssignment(target.current.db.adminPool);
    target.current.gateway.broadcast(
      target.current.broadcastChannel,
      'new_assignment',
      broadcastPayload(inserted),
    );
    published.push(inserted);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return published;
}

describe('supabase-js and lean subscribers on the local target', () => {
  it('receive the same events on both paths with correct keys, commit timestamps and agreeing latencies', async () => {
    const { sjs, lean } = await startBoth();
    const published = await publish(40);
    await waitFor('every event on both paths at both kinds', () =>
      published.every((event) =>
        [sjs, lean].every((recorder) =>
          (['postgres_changes', 'broadcast'] as const).every((path) => find(recorder, path, event.eventId)),
        ),
      ),
    );

    const differences: Record<RealtimePath, number[]> = {
      postgres_changes: [],
      broadcast: [],
      db_broadcast: [],
    };
    const latencies: Record<string, number[]> = {};
    for (const event of published) {
      for (const path of ['postgres_changes', 'broadcast'] as const) {
        const viaSjs = find(sjs, path, event.eventId);
        const viaLean = find(lean, path, event.eventId);
        expect(viaSjs?.keys).toEqual({ eventId: event.eventId, assignmentId: event.assignmentId });
        expect(viaLean?.keys).toEqual({ eventId: event.eventId, assignmentId: event.assignmentId });
        if (path === 'postgres_changes') {
          expect(viaSjs?.commitTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
          expect(viaLean?.commitTimestamp).toBe(viaSjs?.commitTimestamp);
          // The commit happened after the INSERT was sent and before the row reached anyone.
          expect(Date.parse(viaLean?.commitTimestamp ?? '')).toBeGreaterThanOrEqual(
            Date.parse(event.createdAt) - 1,
          );
        } else {
          expect(viaLean?.commitTimestamp).toBeUndefined();
        }
        differences[path].push(Math.abs((viaSjs?.receivedAt ?? 0) - (viaLean?.receivedAt ?? 0)));
        for (const [kind, delivery] of [
          ['supabase-js', viaSjs],
          ['lean', viaLean],
        ] as const) {
          (latencies[`${kind} ${path}`] ??= []).push((delivery?.receivedAt ?? 0) - event.startedAt);
        }
      }
    }
    // Each event arrives exactly once per path per subscriber.
    for (const recorder of [sjs, lean]) expect(recorder.deliveries).toHaveLength(published.length * 2);

    const lines = Object.entries(latencies).map(
      ([name, values]) =>
        `${name.padEnd(29)} p50 ${percentile(values, 50).toFixed(2)} ms  p95 ${percentile(values, 95).toFixed(2)} ms`,
    );
    for (const path of ['postgres_changes', 'broadcast'] as const) {
      lines.push(
        `|supabase-js − lean| ${path.padEnd(16)} p50 ${percentile(differences[path], 50).toFixed(3)} ms  max ${Math.max(...differences[path]).toFixed(3)} ms`,
      );
    }
    console.log(`receive latency over ${published.length} events:\n  ${lines.join('\n  ')}`);
    expect(percentile(differences.postgres_changes, 50)).toBeLessThanOrEqual(2);
    expect(percentile(differences.broadcast, 50)).toBeLessThanOrEqual(2);
  });

  it('also work over the vsn 1.0.0 JSON serializer', async () => {
    const { sjs, lean } = await startBoth('1.0.0');
    const published = await publish(3);
    await waitFor('three events on both paths at both kinds over vsn 1.0.0', () =>
      published.every((event) =>
        [sjs, lean].every((recorder) =>
          (['postgres_changes', 'broadcast'] as const).every((path) => find(recorder, path, event.eventId)),
        ),
      ),
    );
    const last = published.at(-1);
    expect(find(lean, 'postgres_changes', last?.eventId ?? '')?.keys.assignmentId).toBe(last?.assignmentId);
    expect(find(lean, 'broadcast', last?.eventId ?? '')?.keys.assignmentId).toBe(last?.assignmentId);
  });
  it('decode a broadcast another client sent over its websocket (a kind-4 binary frame for vsn 2.0.0)', async () => {
    const { sjs, lean } = await startBoth();
    const { url, serviceRoleKey, broadcastChannel } = target.current;
    const sender = createSupabaseClient(url, serviceRoleKey);
    try {
      const channel = sender.channel(broadcastChannel);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the sender did not join within 10 s')), 10_000);
        channel.subscribe((status) => {
          if (status !== 'SUBSCRIBED') return;
          clearTimeout(timer);
          resolve();
        });
      });
      const eventId = 'evt-over-the-socket';
      const sent = await channel.send({
        type: 'broadcast',
        event: 'new_assignment',
        payload: { assignmentId: 'assignment-over-the-socket', metadata: { canary_event_id: eventId } },
      });
      expect(sent).toBe('ok');
      await waitFor('the socket broadcast at both kinds', () =>
        [sjs, lean].every((recorder) => find(recorder, 'broadcast', eventId)),
      );
      for (const recorder of [sjs, lean]) {
        expect(find(recorder, 'broadcast', eventId)?.keys).toEqual({
          eventId,
          assignmentId: 'assignment-over-the-socket',
        });
      }
    } finally {
      await sender.removeAllChannels();
      await sender.realtime.disconnect();
    }
  });
});
