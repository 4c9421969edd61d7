import { Socket as PhoenixSocket, type SocketTransport } from '@supabase/phoenix';
import type { SupabaseClient } from '@supabase/supabase-js';
import { RealtimeClient, type WebSocketLikeConstructor } from 'realtime-js-latest';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createSupabaseClient, withTarget } from '../helpers/target.js';
import { openRawSocket, sleep, subscribeAndLog, waitFor, wsUrl, type RawSocket } from './realtime-support.js';

const target = withTarget();
const clients: SupabaseClient[] = [];
const rawSockets: RawSocket[] = [];

function client(options: { vsn?: '1.0.0' | '2.0.0'; key?: string } = {}): SupabaseClient {
  const supabase = createSupabaseClient(target.current.url, options.key ?? target.current.anonKey, {
    client: { realtime: { vsn: options.vsn ?? '2.0.0' } },
  });
  clients.push(supabase);
  return supabase;
}

async function rawJoin(topic: string, vsn: '1.0.0' | '2.0.0' = '2.0.0'): Promise<RawSocket> {
  const socket = await openRawSocket(wsUrl(target.current.url, { apikey: target.current.anonKey, vsn }));
  rawSockets.push(socket);
  socket.send(
    vsn === '2.0.0'
      ? ['1', '1', topic, 'phx_join', { config: {} }]
      : { join_ref: '1', ref: '1', topic, event: 'phx_join', payload: { config: {} } },
  );
  await socket.next(
    (frame) =>
      Array.isArray(frame)
        ? frame[3] === 'phx_reply' && frame[1] === '1'
        : (frame as { event?: string }).event === 'phx_reply',
    `join reply on ${topic}`,
  );
  return socket;
}

afterEach(async () => {
  for (const supabase of clients.splice(0)) {
    await supabase.removeAllChannels();
    supabase.realtime.disconnect();
  }
  for (const socket of rawSockets.splice(0)) socket.ws.terminate();
});

describe('Realtime channels against the real clients', () => {
  it('supabase-js reaches SUBSCRIBED over vsn 2.0.0 and over vsn 1.0.0', async () => {
    const v2 = subscribeAndLog(client({ vsn: '2.0.0' }).channel('join-v2'));
    const v1 = subscribeAndLog(client({ vsn: '1.0.0' }).channel('join-v1'));
    await v2.reached('SUBSCRIBED');
    await v1.reached('SUBSCRIBED');
    expect(v2.errors).toEqual([]);
    expect(v1.errors).toEqual([]);
    await waitFor(() => target.current.gateway.stats().channels >= 2, 'two joined channels');
    const { metrics } = target.current.context;
    expect((await metrics.connections.get()).values[0]?.value).toBe(
      target.current.gateway.stats().connections,
    );
    expect((await metrics.channels.get()).values[0]?.value).toBe(target.current.gateway.stats().channels);
    expect(target.current.gateway.stats()).toEqual({ connections: 2, channels: 2 });
  });

  it('a vsn 2.0.0 send goes out as a binary frame and reaches v2 and v1 subscribers, with self and ack honoured', async () => {
    const topic = 'binary-both-ways';
    const received = { sender: [] as unknown[], v2: [] as unknown[], v1: [] as unknown[] };
    const sender = client().channel(topic, { config: { broadcast: { self: true, ack: true } } });
    sender.on('broadcast', { event: 'ping' }, (message) => received.sender.push(message.payload));
    const v2 = client().channel(topic);
    v2.on('broadcast', { event: 'ping' }, (message) => received.v2.push(message.payload));
    const v1 = client({ vsn: '1.0.0' }).channel(topic);
    v1.on('broadcast', { event: 'ping' }, (message) => received.v1.push(message.payload));
    const logs = [subscribeAndLog(sender), subscribeAndLog(v2), subscribeAndLog(v1)];
    for (const log of logs) await log.reached('SUBSCRIBED');
    const raw = await rawJoin(`realtime:${topic}`);

    const result = await sender.send({ type: 'broadcast', event: 'ping', payload: { n: 1, text: 'héllo' } });
    expect(result).toBe('ok');
    await waitFor(
      () => received.v1.length === 1 && received.v2.length === 1 && received.sender.length === 1,
      'all three',
    );
    expect(received.v2[0]).toEqual({ n: 1, text: 'héllo' });
    expect(received.v1[0]).toEqual({ n: 1, text: 'héllo' });
    expect(received.sender[0]).toEqual({ n: 1, text: 'héllo' });

    // The raw vsn 2 socket sees the kind-4 binary frame the real server sends for binary pushes.
    const frame = (await raw.next((f) => Buffer.isBuffer(f), 'a binary broadcast frame')) as Buffer;
    expect(frame[0]).toBe(4);
    expect(frame.subarray(5).toString('utf8')).toBe(`realtime:${topic}ping{"n":1,"text":"héllo"}`);
  });

  it('without self the sender does not hear itself, and a v1 send reaches v2 subscribers as JSON text', async () => {
    const topic = 'json-from-v1';
    const heardBySender: unknown[] = [];
    const heardByV2: unknown[] = [];
    const sender = client({ vsn: '1.0.0' }).channel(topic);
    sender.on('broadcast', { event: '*' }, (message) => heardBySender.push(message));
    const v2 = client().channel(topic);
    v2.on('broadcast', { event: 'note' }, (message) => heardByV2.push(message));
    await subscribeAndLog(sender).reached('SUBSCRIBED');
    await subscribeAndLog(v2).reached('SUBSCRIBED');
    const raw = await rawJoin(`realtime:${topic}`);

    expect(await sender.send({ type: 'broadcast', event: 'note', payload: { from: 'v1' } })).toBe('ok');
    await waitFor(() => heardByV2.length === 1, 'the v2 subscriber to hear the note');
    expect(heardByV2[0]).toMatchObject({ type: 'broadcast', event: 'note', payload: { from: 'v1' } });
    const text = await raw.next((f) => Array.isArray(f) && f[3] === 'broadcast', 'a JSON broadcast frame');
    expect(text).toEqual([
      null,
      null,
      `realtime:${topic}`,
      'broadcast',
      { type: 'broadcast', event: 'note', payload: { from: 'v1' } },
    ]);
    await sleep(100);
    expect(heardBySender).toEqual([]);
  });

  it('the newest realtime-js and the stock Phoenix client both subscribe and exchange broadcasts', async () => {
    const topic = 'other-clients';
    const latest = new RealtimeClient(`${target.current.url.replace(/^http/, 'ws')}/realtime/v1`, {
      params: { apikey: target.current.anonKey },
      // ws's typings differ from the DOM WebSocket the client declares; the runtime shape is the same.
      transport: WebSocket as unknown as WebSocketLikeConstructor,
    });
    const heardByLatest: unknown[] = [];
    const latestChannel = latest.channel(topic, { config: { broadcast: { ack: true } } });
    latestChannel.on('broadcast', { event: 'from-phoenix' }, (message) =>
      heardByLatest.push(message.payload),
    );
    const latestStatuses: string[] = [];
    latestChannel.subscribe((status) => latestStatuses.push(status));

    const phoenix = new PhoenixSocket(`${target.current.url.replace(/^http/, 'ws')}/realtime/v1`, {
      transport: WebSocket as unknown as SocketTransport,
      params: { apikey: target.current.anonKey },
      vsn: '2.0.0',
    });
    phoenix.connect();
    const phoenixChannel = phoenix.channel(`realtime:${topic}`, { config: { broadcast: { self: false } } });
    const heardByPhoenix: unknown[] = [];
    phoenixChannel.on('broadcast', (payload: unknown) => heardByPhoenix.push(payload));
    const joined = await new Promise<unknown>((resolve, reject) => {
      phoenixChannel
        .join()
        .receive('ok', resolve)
        .receive('error', reject)
        .receive('timeout', () => reject(new Error('join timeout')));
    });
    try {
      expect(joined).toEqual({ postgres_changes: [] });
      await waitFor(() => latestStatuses.includes('SUBSCRIBED'), 'realtime-js 2.119 SUBSCRIBED');

      phoenixChannel.push('broadcast', { type: 'broadcast', event: 'from-phoenix', payload: { hop: 1 } });
      await waitFor(() => heardByLatest.length === 1, 'realtime-js 2.119 to hear the Phoenix client');
      expect(heardByLatest[0]).toEqual({ hop: 1 });

      // The stock Phoenix client cannot decode kind-4 frames; server-side sends reach it as JSON text.
      target.current.gateway.broadcast(topic, 'server-side', { hop: 2 });
      await waitFor(() => heardByPhoenix.length >= 1, 'the Phoenix client to hear a server broadcast');
      expect(heardByPhoenix).toContainEqual({ type: 'broadcast', event: 'server-side', payload: { hop: 2 } });

      // realtime-js 2.119's kind-3 push (UTF-8 byte lengths) with ack, heard by a supabase-js subscriber.
      const heardBy2109: unknown[] = [];
      const listener = client().channel('latest-binary');
      listener.on('broadcast', { event: 'ack-me' }, (message) => heardBy2109.push(message.payload));
      await subscribeAndLog(listener).reached('SUBSCRIBED');
      const ackChannel = latest.channel('latest-binary', { config: { broadcast: { ack: true } } });
      const ackStatuses: string[] = [];
      ackChannel.subscribe((status) => ackStatuses.push(status));
      await waitFor(() => ackStatuses.includes('SUBSCRIBED'), 'realtime-js 2.119 second channel');
      expect(await ackChannel.send({ type: 'broadcast', event: 'ack-me', payload: { ünï: 'cödé' } })).toBe(
        'ok',
      );
      await waitFor(() => heardBy2109.length === 1, 'supabase-js to hear realtime-js 2.119');
      expect(heardBy2109[0]).toEqual({ ünï: 'cödé' });
    } finally {
      phoenix.disconnect();
      await latest.removeAllChannels();
      latest.disconnect();
    }
  });

  it('heartbeats on the phoenix topic are answered and pushes to an unjoined topic get unmatched topic', async () => {
    const raw = await openRawSocket(
      wsUrl(target.current.url, { apikey: target.current.anonKey, vsn: '2.0.0' }),
    );
    rawSockets.push(raw);
    raw.send([null, '9', 'phoenix', 'heartbeat', {}]);
    expect(await raw.next((f) => Array.isArray(f) && f[1] === '9', 'heartbeat reply')).toEqual([
      null,
      '9',
      'phoenix',
      'phx_reply',
      { status: 'ok', response: {} },
    ]);
    raw.send([
      '3',
      '10',
      'realtime:never-joined',
      'broadcast',
      { type: 'broadcast', event: 'x', payload: {} },
    ]);
    expect(await raw.next((f) => Array.isArray(f) && f[1] === '10', 'unmatched reply')).toEqual([
      '3',
      '10',
      'realtime:never-joined',
      'phx_reply',
      { status: 'error', response: { reason: 'unmatched topic' } },
    ]);
  });

  it('the x-api-key header a gateway sets is preferred over the apikey query parameter', async () => {
    const socket = await openRawSocket(wsUrl(target.current.url, { apikey: 'not-a-jwt', vsn: '2.0.0' }), {
      'x-api-key': target.current.anonKey,
    });
    rawSockets.push(socket);
    socket.send([null, '1', 'phoenix', 'heartbeat', {}]);
    await socket.next(
      (f) => Array.isArray(f) && f[1] === '1',
      'heartbeat reply over the header-authorised socket',
    );
  });

  it('a second join of the same topic closes the old channel with its own join ref first', async () => {
    const raw = await rawJoin('realtime:rejoin');
    raw.send(['5', '5', 'realtime:rejoin', 'phx_join', { config: {} }]);
    await raw.next((f) => Array.isArray(f) && f[3] === 'phx_reply' && f[1] === '5', 'second join reply');
    const closeIndex = raw.received.findIndex((f) => Array.isArray(f) && f[3] === 'phx_close');
    const replyIndex = raw.received.findIndex((f) => Array.isArray(f) && f[1] === '5');
    expect(raw.received[closeIndex]).toEqual(['1', '1', 'realtime:rejoin', 'phx_close', {}]);
    expect(closeIndex).toBeLessThan(replyIndex);
    // Leave: ok reply, then phx_close with the current join ref.
    raw.send(['5', '6', 'realtime:rejoin', 'phx_leave', {}]);
    await raw.next((f) => Array.isArray(f) && f[3] === 'phx_close' && f[0] === '5', 'phx_close after leave');
  });

  it('REST broadcasts (send before subscribe, httpSend, and the batch endpoint) reach subscribers', async () => {
    const topic = 'rest-topic';
    const heard: { event: string; payload: unknown }[] = [];
    const listener = client().channel(topic);
    listener.on('broadcast', { event: '*' }, (message) =>
      heard.push({ event: message.event, payload: message.payload }),
    );
    await subscribeAndLog(listener).reached('SUBSCRIBED');

    const restClient = client();
    const unjoined = restClient.channel(topic);
    const warn = console.warn;
    console.warn = () => {}; // the client warns that it falls back to REST; expected here
    try {
      expect(await unjoined.send({ type: 'broadcast', event: 'fallback', payload: { via: 'batch' } })).toBe(
        'ok',
      );
    } finally {
      console.warn = warn;
    }
    expect(await unjoined.httpSend('single', { via: 'single' })).toEqual({ success: true });
    expect(target.current.gateway.broadcast(topic, 'server', { via: 'gateway' })).toBe(1);
    await waitFor(() => heard.length === 3, 'three REST/server broadcasts');
    expect(heard).toEqual([
      { event: 'fallback', payload: { via: 'batch' } },
      { event: 'single', payload: { via: 'single' } },
      { event: 'server', payload: { via: 'gateway' } },
    ]);

    const endpoint = `${target.current.url}/realtime/v1/api/broadcast`;
    const unauthorised = await fetch(endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer not-a-jwt' },
      body: JSON.stringify({ messages: [{ topic, event: 'x', payload: {} }] }),
    });
    expect(unauthorised.status).toBe(401);
    expect(await unauthorised.json()).toEqual({ message: 'Unauthorized' });

    const invalid = await fetch(endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', apikey: target.current.serviceRoleKey },
      body: JSON.stringify({ messages: [{ topic, payload: {} }] }),
    });
    expect(invalid.status).toBe(422);
    expect(await invalid.json()).toEqual({ errors: { messages: [{ event: ["can't be blank"] }] } });

    const wrongType = await fetch(`${endpoint}/${topic}/events/e`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain', apikey: target.current.serviceRoleKey },
      body: 'hello',
    });
    expect(wrongType.status).toBe(415);
    expect(await wrongType.json()).toEqual({
      error: 'Unsupported Media Type. Use application/json or application/octet-stream',
    });
  });

  it('realtime.send in SQL reaches private and public subscribers after commit, with its id in payload and meta', async () => {
    const heardPrivate: unknown[] = [];
    const heardPublic: unknown[] = [];
    const privateChannel = client({ key: target.current.serviceRoleKey }).channel('db-topic', {
      config: { private: true },
    });
    privateChannel.on('broadcast', { event: 'from_db' }, (message) => heardPrivate.push(message));
    const publicChannel = client({ vsn: '1.0.0' }).channel('db-topic');
    publicChannel.on('broadcast', { event: 'from_db' }, (message) => heardPublic.push(message));
    await subscribeAndLog(privateChannel).reached('SUBSCRIBED');
    await subscribeAndLog(publicChannel).reached('SUBSCRIBED');

    const connection = await target.current.db.adminPool.connect();
    try {
      await connection.query('begin');
      await connection.query(`select realtime.send('{"n": 1}'::jsonb, 'from_db', 'db-topic')`);
      await sleep(200);
      expect(heardPrivate).toEqual([]);
      await connection.query('commit');
    } finally {
      connection.release();
    }
    await waitFor(() => heardPrivate.length === 1, 'the private database broadcast');
    const first = heardPrivate[0] as { meta: { id: string } };
    expect(first).toEqual({
      type: 'broadcast',
      event: 'from_db',
      payload: { n: 1, id: first.meta.id },
      meta: { id: expect.stringMatching(/^[0-9a-f-]{36}$/) },
    });
    await target.current.db.adminPool.query(
      `select realtime.send('{"n": 2, "id": "fixed-id"}'::jsonb, 'from_db', 'db-topic', false)`,
    );
    await waitFor(() => heardPublic.length === 1, 'the public database broadcast');
    // A payload that has an id keeps it; the message's own id is still a new uuid.
    expect(heardPublic[0]).toMatchObject({
      event: 'from_db',
      payload: { n: 2, id: 'fixed-id' },
      meta: { id: expect.stringMatching(/^[0-9a-f-]{36}$/) },
    });
    expect(heardPrivate).toHaveLength(1);
  });

  it('presence syncs between two clients, and untrack and socket loss show up as leaves', async () => {
    const topic = 'presence-room';
    const alice = client().channel(topic, { config: { presence: { key: 'alice' } } });
    const bob = client().channel(topic, { config: { presence: { key: 'bob' } } });
    const aliceJoins: string[] = [];
    const aliceLeaves: string[] = [];
    alice.on('presence', { event: 'join' }, ({ key }) => aliceJoins.push(key));
    alice.on('presence', { event: 'leave' }, ({ key }) => aliceLeaves.push(key));
    bob.on('presence', { event: 'sync' }, () => {});
    await subscribeAndLog(alice).reached('SUBSCRIBED');
    await subscribeAndLog(bob).reached('SUBSCRIBED');

    expect(await alice.track({ name: 'Alice' })).toBe('ok');
    expect(await bob.track({ name: 'Bob' })).toBe('ok');
    await waitFor(() => Object.keys(alice.presenceState()).length === 2, 'alice to see both members');
    await waitFor(() => Object.keys(bob.presenceState()).length === 2, 'bob to see both members');
    expect(bob.presenceState().alice?.[0]).toMatchObject({ name: 'Alice', presence_ref: expect.any(String) });
    expect(aliceJoins).toContain('bob');

    expect(await bob.untrack()).toBe('ok');
    await waitFor(() => aliceLeaves.includes('bob'), 'bob to leave after untrack');
    expect(await bob.track({ name: 'Bob again' })).toBe('ok');
    await waitFor(() => alice.presenceState().bob?.[0], 'bob to come back');

    // Losing bob's socket (not a clean unsubscribe) removes his presence too.
    const bobClient = clients[1]!;
    bobClient.realtime.disconnect();
    await waitFor(
      () => aliceLeaves.filter((key) => key === 'bob').length === 2,
      'bob to leave on socket loss',
    );
    expect(alice.presenceState().bob).toBeUndefined();
  });
});
