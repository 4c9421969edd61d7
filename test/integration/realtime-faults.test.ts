import type { SupabaseClient } from '@supabase/supabase-js';
import { afterEach, describe, expect, it } from 'vitest';
import { createSupabaseClient, withTarget } from '../helpers/target.js';
import {
  openRawSocket,
  refusalOf,
  sleep,
  subscribeAndLog,
  waitFor,
  wsUrl,
  type RawSocket,
} from './realtime-support.js';

const target = withTarget({ faultSeed: 7 });
const clients: SupabaseClient[] = [];
const rawSockets: RawSocket[] = [];

function client(): SupabaseClient {
  const supabase = createSupabaseClient(target.current.url, target.current.anonKey);
  clients.push(supabase);
  return supabase;
}

async function injected(fault: string, path: string): Promise<number> {
  const metric = await target.current.context.metrics.faultsInjected.get();
  return (
    metric.values.find((value) => value.labels.fault === fault && value.labels.path === path)?.value ?? 0
  );
}

afterEach(async () => {
  await target.current.faults.reset();
  for (const supabase of clients.splice(0)) {
    await supabase.removeAllChannels();
    supabase.realtime.disconnect();
  }
  for (const socket of rawSockets.splice(0)) socket.ws.terminate();
  await waitFor(() => target.current.gateway.stats().connections === 0, 'sockets to close');
});

describe('Realtime websocket-side faults', () => {
  it('an injected 200 ms broadcast delay shows as at least 200 ms in the client, and jitter never reorders', async () => {
    const topic = 'delayed';
    const arrivals: { seq: number; at: number }[] = [];
    const listener = client().channel(topic);
    listener.on('broadcast', { event: 'tick' }, (message) =>
      arrivals.push({ seq: (message.payload as { seq: number }).seq, at: performance.now() }),
    );
    await subscribeAndLog(listener).reached('SUBSCRIBED');

    await target.current.faults.update({ broadcast: { delayMs: 200 } });
    const sentAt = performance.now();
    target.current.gateway.broadcast(topic, 'tick', { seq: 0 });
    await waitFor(() => arrivals.length === 1, 'the delayed broadcast');
    expect(arrivals[0]!.at - sentAt).toBeGreaterThanOrEqual(200);
    expect(await injected('delay', 'broadcast')).toBeGreaterThanOrEqual(1);

    await target.current.faults.update({ broadcast: { delayMs: 100, jitterMs: 90 } });
    for (let seq = 1; seq <= 50; seq++) target.current.gateway.broadcast(topic, 'tick', { seq });
    await waitFor(() => arrivals.length === 51, 'fifty jittered broadcasts');
    expect(arrivals.map((arrival) => arrival.seq)).toEqual(Array.from({ length: 51 }, (_, seq) => seq));
  });

  it('a 50 % broadcast drop loses 40-60 % of 1,000 events, and every drop is counted', async () => {
    const topic = 'lossy';
    let received = 0;
    const listener = client().channel(topic);
    listener.on('broadcast', { event: 'e' }, () => (received += 1));
    await subscribeAndLog(listener).reached('SUBSCRIBED');
    const dropsBefore = await injected('drop', 'broadcast');

    await target.current.faults.update({ broadcast: { dropRate: 0.5 } });
    let queued = 0;
    for (let index = 0; index < 1000; index++)
      queued += target.current.gateway.broadcast(topic, 'e', { index });
    await waitFor(() => received === queued, `all ${queued} undropped events`);
    await sleep(200);
    expect(received).toBe(queued);
    expect(received).toBeGreaterThanOrEqual(400);
    expect(received).toBeLessThanOrEqual(600);
    expect((await injected('drop', 'broadcast')) - dropsBefore).toBe(1000 - received);
  });

  it('periodic disconnects make supabase-js see CHANNEL_ERROR and rejoin', async () => {
    const log = subscribeAndLog(client().channel('flaky'));
    await log.reached('SUBSCRIBED');
    await target.current.faults.update({ disconnects: { everyMs: 400, fraction: 1, code: 1012 } });
    await log.reached('CHANNEL_ERROR');
    expect(log.errors[0]).toContain('1012');
    await target.current.faults.update({ disconnects: { everyMs: 0 } });
    await log.reached('SUBSCRIBED', 15_000, 2);
    expect(await injected('disconnect', 'connection')).toBeGreaterThanOrEqual(1);
  });

  it('a 1006 disconnect drops the TCP stream, which the client sees as an abnormal close', async () => {
    const socket = await openRawSocket(
      wsUrl(target.current.url, { apikey: target.current.anonKey, vsn: '2.0.0' }),
    );
    rawSockets.push(socket);
    await target.current.faults.update({ disconnects: { everyMs: 200, fraction: 1, code: 1006 } });
    expect((await socket.closed).code).toBe(1006);
  });

  it('connectionCap refuses upgrades over the cap with 429 and counts each refusal', async () => {
    await target.current.faults.update({ connectionCap: 1 });
    const first = await openRawSocket(
      wsUrl(target.current.url, { apikey: target.current.anonKey, vsn: '2.0.0' }),
    );
    rawSockets.push(first);
    const before = await injected('connection_refused_cap', 'connection');
    expect(
      await refusalOf(wsUrl(target.current.url, { apikey: target.current.anonKey, vsn: '2.0.0' })),
    ).toEqual({
      status: 429,
      body: { error: 'Too many connected users' },
    });
    expect(await injected('connection_refused_cap', 'connection')).toBe(before + 1);
    await target.current.faults.update({ connectionCap: null });
    const second = await openRawSocket(
      wsUrl(target.current.url, { apikey: target.current.anonKey, vsn: '2.0.0' }),
    );
    rawSockets.push(second);
  });

  it('the restBroadcast fault delays the 202, and a failure answers 500 and sends nothing', async () => {
    const topic = 'rest-faults';
    const heard: unknown[] = [];
    const listener = client().channel(topic);
    listener.on('broadcast', { event: '*' }, (message) => heard.push(message.payload));
    await subscribeAndLog(listener).reached('SUBSCRIBED');
    const post = (payload: unknown): Promise<Response> =>
      fetch(`${target.current.url}/realtime/v1/api/broadcast`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          apikey: target.current.serviceRoleKey,
          Authorization: `Bearer ${target.current.serviceRoleKey}`,
        },
        body: JSON.stringify({ messages: [{ topic, event: 'new_assignment', payload }] }),
      });

    await target.current.faults.update({ restBroadcast: { delayMs: 300 } });
    const started = performance.now();
    const delayed = await post({ n: 1 });
    expect(delayed.status).toBe(202);
    expect(performance.now() - started).toBeGreaterThanOrEqual(300);
    await waitFor(() => heard.length === 1, 'the delayed REST broadcast');

    await target.current.faults.update({ restBroadcast: { delayMs: 0, failRate: 1 } });
    const failed = await post({ n: 2 });
    expect(failed.status).toBe(500);
    expect(await failed.json()).toMatchObject({ message: expect.any(String) });
    await sleep(200);
    expect(heard).toEqual([{ n: 1 }]);
    expect(await injected('rest_broadcast_fail', 'rest_broadcast')).toBe(1);
  });
});
