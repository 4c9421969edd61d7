import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SupabaseClient } from '@supabase/supabase-js';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { createRealtimeGateway } from '../../src/local-target/gateway/index.js';
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

const target = withTarget();
const clients: SupabaseClient[] = [];
const rawSockets: RawSocket[] = [];

function client(key = target.current.anonKey): SupabaseClient {
  const supabase = createSupabaseClient(target.current.url, key);
  clients.push(supabase);
  return supabase;
}

async function raw(query: Record<string, string> = {}): Promise<RawSocket> {
  const socket = await openRawSocket(
    wsUrl(target.current.url, { apikey: target.current.anonKey, vsn: '2.0.0', ...query }),
  );
  rawSockets.push(socket);
  return socket;
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** The plan's join rate is tenant-wide: let its window drain before the next test joins a lot. */
const drainJoinWindow = (): Promise<void> => sleep(2100);

afterEach(async () => {
  for (const supabase of clients.splice(0)) {
    await supabase.removeAllChannels();
    supabase.realtime.disconnect();
  }
  for (const socket of rawSockets.splice(0)) socket.ws.terminate();
  await waitFor(() => target.current.gateway.stats().connections === 0, 'sockets to close');
});

describe('Realtime limits and auth, answered like Supabase', () => {
  it('refuses bad apikeys at the upgrade with 401 and Supabase text, and supabase-js reports CHANNEL_ERROR', async () => {
    const { keys, url } = target.current;
    const foreign = await new SignJWT({ role: 'anon', exp: nowSeconds() + 600 })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode('a-different-secret-that-is-32-chars-long!!'));
    const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(
      JSON.stringify({ role: 'service_role', exp: nowSeconds() + 600 }),
    ).toString('base64url')}.`;
    const cases: [Record<string, string>, string][] = [
      [{}, 'API key is missing'],
      [{ apikey: 'garbage' }, 'The token provided is not a valid JWT'],
      [{ apikey: await keys.sign({ role: 'anon', exp: nowSeconds() - 30 }) }, 'Token has expired'],
      [
        { apikey: await keys.sign({ exp: nowSeconds() + 600 }) },
        'Fields `role` and `exp` are required in JWT',
      ],
      [{ apikey: foreign }, 'Failed to validate JWT signature'],
      [{ apikey: unsigned }, 'Failed to validate JWT signature'],
    ];
    for (const [query, text] of cases) {
      const target = new URL('/realtime/v1/websocket', url.replace(/^http/, 'ws'));
      for (const [key, value] of Object.entries(query)) target.searchParams.set(key, value);
      expect(await refusalOf(target.toString())).toEqual({ status: 401, body: { error: text } });
    }

    const badKeyChannel = client(foreign).channel('bad-key');
    const log = subscribeAndLog(badKeyChannel);
    await log.reached('CHANNEL_ERROR');
    expect(log.errors[0]).toContain('transport failure');
    expect(log.statuses).not.toContain('SUBSCRIBED');
  });

  it('refuses the 201st connection on Free defaults with 429 and supabase-js sees a transport failure', async () => {
    const opened: RawSocket[] = [];
    for (let batch = 0; batch < 10; batch++) {
      opened.push(...(await Promise.all(Array.from({ length: 20 }, () => raw()))));
    }
    expect(opened).toHaveLength(200);
    expect(target.current.gateway.stats().connections).toBe(200);
    expect(
      await refusalOf(wsUrl(target.current.url, { apikey: target.current.anonKey, vsn: '2.0.0' })),
    ).toEqual({
      status: 429,
      body: { error: 'Too many connected users' },
    });
    const log = subscribeAndLog(client().channel('over-the-cap'));
    await log.reached('CHANNEL_ERROR');
    expect(log.errors[0]).toContain('transport failure');

    // A freed slot is usable again.
    opened[0]!.ws.terminate();
    await waitFor(() => target.current.gateway.stats().connections === 199, 'a slot to free up');
    await log.reached('SUBSCRIBED', 15_000);
  });

  it('a join with an expired or malformed access_token gets an InvalidJWTToken or MalformedJWT error reply', async () => {
    const socket = await raw();
    const expired = await target.current.keys.sign({
      role: 'authenticated',
      sub: 'm',
      exp: nowSeconds() - 5,
    });
    socket.send(['1', '1', 'realtime:token-join', 'phx_join', { config: {}, access_token: expired }]);
    const reply = (await socket.next((f) => Array.isArray(f) && f[1] === '1', 'join reply')) as unknown[];
    expect(reply[4]).toMatchObject({ status: 'error' });
    expect((reply[4] as { response: { reason: string } }).response.reason).toMatch(
      /^InvalidJWTToken: Token has expired \d+ seconds ago$/,
    );
    socket.send(['2', '2', 'realtime:token-join', 'phx_join', { config: {}, access_token: 'not.a.jwt' }]);
    expect(await socket.next((f) => Array.isArray(f) && f[1] === '2', 'second join reply')).toEqual([
      '2',
      '2',
      'realtime:token-join',
      'phx_reply',
      { status: 'error', response: { reason: 'MalformedJWT: The token provided is not a valid JWT' } },
    ]);
    socket.send(['3', '3', 'realtime:', 'phx_join', { config: {} }]);
    expect(await socket.next((f) => Array.isArray(f) && f[1] === '3', 'empty topic reply')).toMatchObject([
      '3',
      '3',
      'realtime:',
      'phx_reply',
      { status: 'error', response: { reason: 'TopicNameRequired: You must provide a topic name' } },
    ]);
  });

  it('an expired access_token sent with setAuth closes the channel (CLOSED), and so does a token expiring while joined', async () => {
    const mechanic = await target.current.createMechanic();
    const supabase = client();
    const channel = supabase.channel('token-expiry');
    const systemMessages: { status?: string; message?: string }[] = [];
    channel.on('system', {}, (payload: { status?: string; message?: string }) =>
      systemMessages.push(payload),
    );
    const log = subscribeAndLog(channel);
    await log.reached('SUBSCRIBED');

    const expired = await target.current.keys.sign({
      role: 'authenticated',
      sub: mechanic.id,
      exp: nowSeconds() - 7,
    });
    await supabase.realtime.setAuth(expired);
    await log.reached('CLOSED');
    expect(systemMessages.at(-1)).toMatchObject({
      status: 'error',
      message: expect.stringMatching(/^Token has expired \d+ seconds ago$/),
    });

    const shortLived = await target.current.mintToken(mechanic.id, { expiresInSeconds: 2 });
    // A fresh client: the first one now holds the expired token and would send it with every join.
    const fresh = client();
    const second = fresh.channel('token-expiry-2');
    const secondSystem: { message?: string }[] = [];
    second.on('system', {}, (payload: { message?: string }) => secondSystem.push(payload));
    const secondLog = subscribeAndLog(second);
    await secondLog.reached('SUBSCRIBED');
    await fresh.realtime.setAuth(shortLived);
    await secondLog.reached('CLOSED', 8000);
    expect(
      secondSystem.some((payload) => /^Token has expired \d+ seconds ago$/.test(payload.message ?? '')),
    ).toBe(true);
  });

  it('the 101st channel on one socket is refused with ChannelRateLimitReached', async () => {
    await drainJoinWindow();
    const supabase = client();
    const logs = [];
    // Paced below the plan's 100 joins per second so only the channel cap is in play.
    for (let index = 0; index < 100; index++) {
      logs.push(subscribeAndLog(supabase.channel(`many-${index}`)));
      if (index % 40 === 39) await drainJoinWindow();
    }
    for (const log of logs) await log.reached('SUBSCRIBED');
    await drainJoinWindow();
    const extra = subscribeAndLog(supabase.channel('many-100'));
    await extra.reached('CHANNEL_ERROR');
    expect(extra.errors[0]).toBe('ChannelRateLimitReached: Too many channels');
    expect(target.current.gateway.stats().channels).toBe(100);
  });

  it('joins still verifying their access_token count against the channel cap', async () => {
    // A gateway of its own with a cap of 3 channels, sharing the target's keys and metrics.
    const context = {
      ...target.current.context,
      limits: { ...target.current.context.limits, maxChannelsPerConnection: 3 },
    };
    const gateway = createRealtimeGateway(context, target.current.feed);
    const server = http.createServer((_request, response) => response.writeHead(404).end());
    gateway.attach(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const socket = await openRawSocket(wsUrl(url, { apikey: target.current.anonKey, vsn: '2.0.0' }));
      rawSockets.push(socket);
      const mechanic = await target.current.createMechanic();
      for (let index = 1; index <= 5; index++) {
        socket.send([
          String(index),
          String(index),
          `realtime:capped-${index}`,
          'phx_join',
          { config: {}, access_token: mechanic.token },
        ]);
      }
      const replies = (await waitFor(() => {
        const found = socket.received.filter((f) => Array.isArray(f) && f[3] === 'phx_reply') as unknown[][];
        return found.length === 5 ? found : null;
      }, 'five join replies')) as [
        string,
        string,
        string,
        string,
        { status: string; response: { reason?: string } },
      ][];
      const errors = replies.filter((reply) => reply[4].status === 'error');
      expect(replies.filter((reply) => reply[4].status === 'ok')).toHaveLength(3);
      expect(errors.map((reply) => reply[4].response.reason)).toEqual([
        'ChannelRateLimitReached: Too many channels',
        'ChannelRateLimitReached: Too many channels',
      ]);
    } finally {
      await gateway.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('too many joins per second get ClientJoinRateLimitReached and the socket is disconnected', async () => {
    await drainJoinWindow();
    const socket = await raw();
    for (let index = 0; index < 101; index++) {
      socket.send([
        String(index + 1),
        String(index + 1),
        `realtime:burst-${index}`,
        'phx_join',
        { config: {} },
      ]);
    }
    const refused = await socket.next(
      (f) => Array.isArray(f) && (f[4] as { status?: string }).status === 'error',
      'a join error',
    );
    expect(refused).toMatchObject([
      '101',
      '101',
      'realtime:burst-100',
      'phx_reply',
      { status: 'error', response: { reason: 'ClientJoinRateLimitReached: Too many joins per second' } },
    ]);
    expect((await socket.closed).code).toBe(1000);
    await drainJoinWindow();
  });

  it('more than 100 messages per second shut the sending channel with a system error and phx_close', async () => {
    const socket = await raw();
    socket.send(['1', '1', 'realtime:chatty', 'phx_join', { config: {} }]);
    await socket.next((f) => Array.isArray(f) && f[1] === '1', 'join reply');
    for (let index = 0; index < 101; index++) {
      socket.send([
        '1',
        String(index + 2),
        'realtime:chatty',
        'broadcast',
        { type: 'broadcast', event: 'e', payload: { index } },
      ]);
    }
    const system = await socket.next((f) => Array.isArray(f) && f[3] === 'system', 'system error');
    expect(system).toEqual([
      '1',
      null,
      'realtime:chatty',
      'system',
      { extension: 'system', status: 'error', message: 'Too many messages per second', channel: 'chatty' },
    ]);
    expect(await socket.next((f) => Array.isArray(f) && f[3] === 'phx_close', 'phx_close')).toEqual([
      '1',
      '1',
      'realtime:chatty',
      'phx_close',
      {},
    ]);
    const text =
      await target.current.context.metrics.registry.getSingleMetricAsString('target_refusals_total');
    expect(text).toContain('reason="too_many_messages"');
    await sleep(2100);
  });
});
