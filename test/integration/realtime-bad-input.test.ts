import { randomBytes } from 'node:crypto';
import type { SupabaseClient } from '@supabase/supabase-js';
import { SignJWT } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
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

afterAll(async () => {
  for (const supabase of clients) {
    await supabase.removeAllChannels();
    supabase.realtime.disconnect();
  }
  for (const socket of rawSockets) socket.ws.terminate();
});

async function raw(vsn: '1.0.0' | '2.0.0' = '2.0.0'): Promise<RawSocket> {
  const socket = await openRawSocket(wsUrl(target.current.url, { apikey: target.current.anonKey, vsn }));
  rawSockets.push(socket);
  return socket;
}

const reply = (ref: string) => (frame: unknown) =>
  Array.isArray(frame) && frame[1] === ref && frame[3] === 'phx_reply';
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

async function protocolErrors(): Promise<Record<string, number>> {
  const metric = await target.current.context.metrics.protocolErrors.get();
  return Object.fromEntries(metric.values.map((value) => [String(value.labels.kind), value.value]));
}

describe('bad input to the Realtime gateway', () => {
  it('a burst of bad frames of every kind leaves healthy subscribers receiving broadcasts and the process up', async () => {
    const topic = 'healthy';
    const healthy = createSupabaseClient(target.current.url, target.current.anonKey);
    clients.push(healthy);
    const heard: number[] = [];
    const statuses = subscribeAndLog(
      healthy
        .channel(topic)
        .on('broadcast', { event: 'beat' }, (message) => heard.push((message.payload as { n: number }).n)),
    );
    await statuses.reached('SUBSCRIBED');

    let sent = 0;
    const beat = setInterval(() => target.current.gateway.broadcast(topic, 'beat', { n: sent++ }), 10);
    try {
      // Frames that end the offending connection (Phoenix's transport would crash), each on its own socket.
      const closing: [string, (socket: RawSocket) => void][] = [
        ['malformed JSON', (s) => s.send('{"topic": "realtime:x", ')],
        ['an object on vsn 2.0.0', (s) => s.send('{"topic":"realtime:x","event":"phx_join","payload":{}}')],
        ['a short array', (s) => s.send('["1","1","realtime:x"]')],
        ['non-string topic', (s) => s.send('["1","1",42,"phx_join",{}]')],
        ['binary garbage', (s) => s.send(randomBytes(64))],
        ['a Phoenix kind-0 binary push', (s) => s.send(Buffer.from([0, 1, 1, 1, 97, 98, 99]))],
        ['a truncated kind-3 frame', (s) => s.send(Buffer.from([3, 200, 1, 14, 5, 0, 1, 49]))],
        [
          'a kind-3 frame with non-JSON payload',
          (s) => s.send(Buffer.from([3, 0, 0, 1, 1, 0, 1, 120, 121, 123])),
        ],
        ['a frame over the size limit', (s) => s.send(Buffer.alloc(400 * 1024, 0x61).toString())],
      ];
      for (const [what, sendBad] of closing) {
        const socket = await raw();
        sendBad(socket);
        const closed = await Promise.race([socket.closed, sleep(5000).then(() => null)]);
        expect(closed, what).not.toBeNull();
        expect([1007, 1009], what).toContain(closed!.code);
      }
      const v1 = await raw('1.0.0');
      v1.send(Buffer.from([3, 0, 0, 0, 0, 0, 1]));
      expect((await v1.closed).code).toBe(1007);

      // Frames that get an error reply and leave the connection open.
      const socket = await raw();
      socket.send(['1', '1', 'realtime:bad-input', 'phx_join', { config: { broadcast: { ack: true } } }]);
      await socket.next(reply('1'), 'join reply');
      socket.send(['1', '2', 'realtime:bad-input', 'no_such_event', {}]);
      expect(await socket.next(reply('2'), 'unknown event reply')).toMatchObject([
        '1',
        '2',
        'realtime:bad-input',
        'phx_reply',
        { status: 'error' },
      ]);
      socket.send([null, '3', 'not-a-realtime-topic', 'phx_join', {}]);
      expect(await socket.next(reply('3'), 'wrong topic reply')).toEqual([
        null,
        '3',
        'not-a-realtime-topic',
        'phx_reply',
        { status: 'error', response: { reason: 'unmatched topic' } },
      ]);
      const big = { type: 'broadcast', event: 'big', payload: { blob: 'x'.repeat(300 * 1024) } };
      socket.send(['1', '4', 'realtime:bad-input', 'broadcast', big]);
      expect(await socket.next(reply('4'), 'payload size reply')).toEqual([
        '1',
        '4',
        'realtime:bad-input',
        'phx_reply',
        { status: 'error', response: 'payload_size_exceeded' },
      ]);
      socket.send(['1', '5', 'realtime:bad-input', 'broadcast', { type: 'broadcast', payload: {} }]);
      await socket.next(reply('5'), 'broadcast without event reply');
      socket.send([
        '1',
        '6',
        'realtime:bad-input',
        'presence',
        { type: 'presence', event: 'track', payload: 'me' },
      ]);
      expect(await socket.next(reply('6'), 'presence reply')).toMatchObject([
        '1',
        '6',
        'realtime:bad-input',
        'phx_reply',
        { status: 'error', response: { reason: 'Presence track payload must be a map' } },
      ]);

      // Tokens in joins: alg none, foreign signature, expired, role-less.
      const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(
        JSON.stringify({ role: 'service_role', exp: nowSeconds() + 600 }),
      ).toString('base64url')}.`;
      const foreign = await new SignJWT({ role: 'authenticated', exp: nowSeconds() + 600 })
        .setProtectedHeader({ alg: 'HS256' })
        .sign(new TextEncoder().encode('someone-elses-secret-someone-elses-secret'));
      const tokens: [string, string | RegExp][] = [
        [unsigned, 'JwtSignatureError: Failed to validate JWT signature'],
        [foreign, 'JwtSignatureError: Failed to validate JWT signature'],
        [
          await target.current.keys.sign({ role: 'anon', exp: nowSeconds() - 60 }),
          /^InvalidJWTToken: Token has expired \d+ seconds ago$/,
        ],
        [
          await target.current.keys.sign({ exp: nowSeconds() + 60 }),
          'InvalidJWTToken: Fields `role` and `exp` are required in JWT',
        ],
      ];
      let ref = 10;
      for (const [token, reason] of tokens) {
        ref += 1;
        socket.send([
          String(ref),
          String(ref),
          `realtime:token-${ref}`,
          'phx_join',
          { config: {}, access_token: token },
        ]);
        const answer = (await socket.next(reply(String(ref)), `join reply ${ref}`)) as [
          unknown,
          unknown,
          unknown,
          unknown,
          { status: string; response: { reason: string } },
        ];
        expect(answer[4].status).toBe('error');
        expect(answer[4].response.reason).toMatch(reason);
      }
      socket.send([null, '99', 'phoenix', 'heartbeat', {}]);
      await socket.next(reply('99'), 'the abused socket still answers heartbeats');

      // Upgrades that are refused outright.
      expect(
        await refusalOf(wsUrl(target.current.url, { apikey: target.current.anonKey, vsn: '9.9.9' })),
      ).toMatchObject({
        status: 400,
      });
      expect(await refusalOf(wsUrl(target.current.url, { vsn: '2.0.0' }))).toEqual({
        status: 401,
        body: { error: 'API key is missing' },
      });
      const wrongPath = target.current.url.replace(/^http/, 'ws') + '/not/realtime';
      expect((await refusalOf(wrongPath)).status).toBe(404);
    } finally {
      clearInterval(beat);
    }
    await waitFor(() => heard.length === sent, `all ${sent} heartbeats broadcasts`);
    expect(sent).toBeGreaterThan(5);
    expect(heard).toEqual(Array.from({ length: sent }, (_, n) => n));
    expect(statuses.statuses).toEqual(['SUBSCRIBED']);

    const errors = await protocolErrors();
    for (const kind of [
      'frame_json',
      'frame_shape',
      'frame_binary_kind',
      'frame_truncated',
      'unknown_event',
      'unmatched_topic',
      'payload_size_exceeded',
      'join_token',
      'transport',
    ]) {
      expect(errors[kind], kind).toBeGreaterThan(0);
    }
  });
});
