import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RealtimeGateway } from '../../src/local-target/components.js';
import { createRealtimeGateway } from '../../src/local-target/gateway/index.js';
import { withTarget } from '../helpers/target.js';
import { openRawSocket, refusalOf, wsUrl } from './realtime-support.js';

const target = withTarget();
let gateway: RealtimeGateway;
let server: http.Server;
let url: string;

// A second gateway on the target's context with production-like refusal pacing and a short idle timeout.
beforeAll(async () => {
  gateway = createRealtimeGateway(target.current.context, target.current.feed, {
    refusalDelayMs: 400,
    joinErrorDelayMs: 300,
    idleTimeoutMs: 500,
  });
  server = http.createServer((_request, response) => response.writeHead(404).end());
  gateway.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await gateway?.close();
  await new Promise((resolve) => server?.close(resolve));
});

describe('Realtime gateway timings', () => {
  it('waits the configured delay before refusing an upgrade, like Supabase does (2 s there)', async () => {
    const started = performance.now();
    expect(await refusalOf(wsUrl(url, { apikey: 'nope', vsn: '2.0.0' }))).toEqual({
      status: 401,
      body: { error: 'The token provided is not a valid JWT' },
    });
    expect(performance.now() - started).toBeGreaterThanOrEqual(390);
  });

  it('waits the configured delay before a join error reply (5 s on Supabase)', async () => {
    const socket = await openRawSocket(wsUrl(url, { apikey: target.current.anonKey, vsn: '2.0.0' }));
    try {
      const started = performance.now();
      socket.send(['1', '1', 'realtime:', 'phx_join', { config: {} }]);
      await socket.next((frame) => Array.isArray(frame) && frame[1] === '1', 'join error');
      expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    } finally {
      socket.ws.terminate();
    }
  });

  it('closes a socket that stays silent past the idle timeout, and keeps one that sends heartbeats', async () => {
    const silent = await openRawSocket(wsUrl(url, { apikey: target.current.anonKey, vsn: '2.0.0' }));
    const chatty = await openRawSocket(wsUrl(url, { apikey: target.current.anonKey, vsn: '1.0.0' }));
    let ref = 0;
    const beat = setInterval(
      () =>
        chatty.send({
          topic: 'phoenix',
          event: 'heartbeat',
          payload: {},
          ref: String(++ref),
          join_ref: null,
        }),
      100,
    );
    try {
      const closed = await silent.closed;
      expect(closed.code).toBe(1000);
      expect(chatty.ws.readyState).toBe(chatty.ws.OPEN);
      expect(chatty.received).toContainEqual({
        topic: 'phoenix',
        event: 'phx_reply',
        payload: { status: 'ok', response: {} },
        ref: '1',
        join_ref: null,
      });
    } finally {
      clearInterval(beat);
      chatty.ws.terminate();
    }
  });
});
