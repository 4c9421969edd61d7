/**
 * Subscription statuses and their mapped reasons, for both subscriber kinds, driven by real
 * failures of the local target: bad tokens, server disconnects, the connection cap, token expiry
 * and join timeouts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  createLeanSubscriber,
  createSupabaseJsSubscriber,
  type ClientKind,
  type RealtimePath,
  type Subscriber,
} from '../../src/realtime/index.js';
// The class itself, for one test that feeds a server frame the local target never sends.
import { LeanSubscriber } from '../../src/realtime/lean-subscriber.js';
import { withTarget } from '../helpers/target.js';
import {
  createRecorder,
  subscribedOn,
  subscriberConfig,
  waitFor,
  type Recorder,
} from './clients-fixtures.js';

const target = withTarget();
let running: Subscriber[] = [];

afterEach(async () => {
  await Promise.all(running.map((subscriber) => subscriber.stop()));
  running = [];
  await target.current.faults.reset();
});

const BOTH_PATHS: RealtimePath[] = ['postgres_changes', 'broadcast'];
const KINDS: ClientKind[] = ['supabase-js', 'lean'];

interface Started {
  recorder: Recorder;
  subscriber: Subscriber;
}

function start(
  kind: ClientKind,
  token: string,
  overrides: { anonKey?: string; joinTimeoutMs?: number; heartbeatIntervalMs?: number } = {},
): Started {
  const { url, anonKey, broadcastChannel } = target.current;
  const recorder = createRecorder();
  const config = subscriberConfig(
    {
      url,
      anonKey: overrides.anonKey ?? anonKey,
      token,
      broadcastChannel,
      kind,
      joinTimeoutMs: overrides.joinTimeoutMs,
    },
    recorder,
  );
  const options = overrides.heartbeatIntervalMs ? { heartbeatIntervalMs: overrides.heartbeatIntervalMs } : {};
  const subscriber =
    kind === 'lean' ? createLeanSubscriber(config, options) : createSupabaseJsSubscriber(config, options);
  running.push(subscriber);
  subscriber.start();
  return { recorder, subscriber };
}

function firstError(recorder: Recorder, path: RealtimePath): string | undefined {
  return recorder.trail(path).find((entry) => entry.startsWith('CHANNEL_ERROR'));
}

describe('subscription statuses on the local target', () => {
  it.each(KINDS)(
    '%s reports CHANNEL_ERROR with reason auth when the mechanic token has expired',
    async (kind) => {
      const mechanic = await target.current.createMechanic();
      const expired = await target.current.mintToken(mechanic.id, { expiresInSeconds: -60 });
      const { recorder } = start(kind, expired);
      await waitFor('a CHANNEL_ERROR on both channels', () =>
        BOTH_PATHS.every((path) => firstError(recorder, path) !== undefined),
      );
      for (const path of BOTH_PATHS) {
        expect(firstError(recorder, path)).toBe('CHANNEL_ERROR:auth');
        expect(recorder.trail(path)).not.toContain('SUBSCRIBED');
      }
      const error = recorder.statuses.find((change) => change.status === 'CHANNEL_ERROR');
      expect(error?.message).toMatch(/InvalidJWTToken: Token has expired/);
      expect(error?.message).not.toContain(expired);
    },
  );

  it('lean reads the refused upgrade of a bad API key (auth) where supabase-js only sees a transport failure', async () => {
    const mechanic = await target.current.createMechanic();
    const badKey = `${target.current.anonKey.slice(0, -4)}AAAA`;
    const lean = start('lean', mechanic.token, { anonKey: badKey });
    const sjs = start('supabase-js', mechanic.token, { anonKey: badKey });
    await waitFor('both kinds report the refusal', () =>
      [lean, sjs].every(({ recorder }) => BOTH_PATHS.every((path) => firstError(recorder, path))),
    );
    expect(firstError(lean.recorder, 'postgres_changes')).toBe('CHANNEL_ERROR:auth');
    expect(lean.recorder.statuses[0]?.message).toMatch(/^HTTP 401: /);
    expect(firstError(sjs.recorder, 'postgres_changes')).toBe('CHANNEL_ERROR:transport');
    for (const { recorder } of [lean, sjs]) {
      for (const change of recorder.statuses) expect(change.message ?? '').not.toContain(badKey);
    }
  });

  it.each(KINDS)(
    '%s reports CHANNEL_ERROR with reason transport on a server disconnect, then SUBSCRIBED again',
    async (kind) => {
      const mechanic = await target.current.createMechanic();
      const { recorder } = start(kind, mechanic.token);
      await waitFor('SUBSCRIBED on both channels', subscribedOn(recorder, BOTH_PATHS));
      await target.current.faults.update({ disconnects: { everyMs: 200, fraction: 1, code: 1006 } });
      await waitFor('the disconnect to be reported', () =>
        BOTH_PATHS.every((path) => firstError(recorder, path) !== undefined),
      );
      await target.current.faults.reset();
      await waitFor('SUBSCRIBED again after the reconnect', subscribedOn(recorder, BOTH_PATHS));
      for (const path of BOTH_PATHS) {
        const trail = recorder.trail(path);
        expect(trail[0]).toBe('SUBSCRIBED');
        expect(trail[1]).toBe('CHANNEL_ERROR:transport');
        expect(trail.at(-1)).toBe('SUBSCRIBED');
      }
      const error = recorder.statuses.find((change) => change.status === 'CHANNEL_ERROR');
      expect(error?.message).toMatch(/^socket closed: 1006/);
    },
  );

  it('reports the connection cap as connection_limit (lean) and transport (supabase-js), then recovers', async () => {
    const mechanic = await target.current.createMechanic();
    await target.current.faults.update({ connectionCap: 0 });
    const lean = start('lean', mechanic.token);
    const sjs = start('supabase-js', mechanic.token);
    await waitFor('both kinds report the refusal', () =>
      [lean, sjs].every(({ recorder }) => BOTH_PATHS.every((path) => firstError(recorder, path))),
    );
    expect(firstError(lean.recorder, 'broadcast')).toBe('CHANNEL_ERROR:connection_limit');
    expect(lean.recorder.statuses[0]?.message).toBe('HTTP 429: Too many connected users');
    expect(firstError(sjs.recorder, 'broadcast')).toBe('CHANNEL_ERROR:transport');
    await target.current.faults.reset();
    await waitFor(
      'both kinds SUBSCRIBED once the cap is lifted',
      () => subscribedOn(lean.recorder, BOTH_PATHS)() && subscribedOn(sjs.recorder, BOTH_PATHS)(),
      30_000,
    );
  });

  it.each(KINDS)(
    '%s reports CLOSED when the server ends the channel because the token expired',
    async (kind) => {
      const mechanic = await target.current.createMechanic();
      const shortLived = await target.current.mintToken(mechanic.id, { expiresInSeconds: 2 });
      const { recorder } = start(kind, shortLived);
      await waitFor('SUBSCRIBED on both channels', subscribedOn(recorder, BOTH_PATHS));
      await waitFor('CLOSED on both channels', () =>
        BOTH_PATHS.every((path) => recorder.trail(path).some((status) => status.startsWith('CLOSED'))),
      );
      // The server's `system` message before phx_close says why: the token expired (reason auth).
      for (const path of BOTH_PATHS) expect(recorder.trail(path)).toEqual(['SUBSCRIBED', 'CLOSED:auth']);
      if (kind === 'lean') {
        // With every channel closed for good, the lean client lets its socket go at once.
        await waitFor('the lean socket to close', () => target.current.gateway.stats().connections === 0);
      }
    },
  );

  it.each(KINDS)(
    '%s reports TIMED_OUT with reason timeout when no join reply arrives in time, and rejoins',
    async (kind) => {
      const mechanic = await target.current.createMechanic();
      const { recorder } = start(kind, mechanic.token, { joinTimeoutMs: 1 });
      // A rejoin follows ~1 s later; it times out again (or, rarely, beats the 1 ms timer).
      await waitFor('a rejoin outcome after TIMED_OUT on both channels', () =>
        BOTH_PATHS.every((path) => recorder.trail(path).length >= 2),
      );
      for (const path of BOTH_PATHS) {
        const [first, second] = recorder.trail(path);
        expect(first).toBe('TIMED_OUT:timeout');
        expect(['TIMED_OUT:timeout', 'SUBSCRIBED']).toContain(second);
      }
    },
  );

  it.each(KINDS)('%s keeps its subscription across answered heartbeats', async (kind) => {
    const mechanic = await target.current.createMechanic();
    const { recorder } = start(kind, mechanic.token, { heartbeatIntervalMs: 400 });
    await waitFor('SUBSCRIBED on both channels', subscribedOn(recorder, BOTH_PATHS));
    // Six heartbeat rounds; a missed reply would close the socket and surface as CHANNEL_ERROR.
    // Only a reply slower than 400 ms counts as missed, which a busy machine does not fake.
    await new Promise((resolve) => setTimeout(resolve, 2_400));
    for (const path of BOTH_PATHS) expect(recorder.trail(path)).toEqual(['SUBSCRIBED']);
  });

  it.each(KINDS)('%s calls no handler after stop()', async (kind) => {
    const mechanic = await target.current.createMechanic();
    const { recorder, subscriber } = start(kind, mechanic.token);
    await waitFor('SUBSCRIBED on both channels', subscribedOn(recorder, BOTH_PATHS));
    await subscriber.stop();
    const seen = recorder.statuses.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(recorder.statuses).toHaveLength(seen);
    await waitFor(
      'the server to see the socket gone',
      () => target.current.gateway.stats().connections === 0,
    );
  });

  it('lean treats a phx_error for its channel like realtime-js: CHANNEL_ERROR transport, then a rejoin', async () => {
    const mechanic = await target.current.createMechanic();
    const { url, anonKey, broadcastChannel } = target.current;
    const recorder = createRecorder();
    const subscriber = new LeanSubscriber(
      subscriberConfig({ url, anonKey, token: mechanic.token, broadcastChannel, kind: 'lean' }, recorder),
      { rejoinDelaysMs: [200] },
    );
    running.push(subscriber);
    subscriber.start();
    await waitFor('SUBSCRIBED on both channels', subscribedOn(recorder, BOTH_PATHS));
    // Refs come from one per-socket counter: the first join (postgres_changes) is "1".
    const crash = JSON.stringify(['1', '1', 'realtime:assignment-changes', 'phx_error', {}]);
    subscriber.handleFrame(Buffer.from(crash), false, 0);
    // A frame stamped with an older join ref is ignored, as realtime-js ignores it.
    subscriber.handleFrame(
      Buffer.from(JSON.stringify(['1', '1', `realtime:${broadcastChannel}`, 'phx_error', {}])),
      false,
      0,
    );
    await waitFor('the rejoin', () => recorder.trail('postgres_changes').length >= 3);
    expect(recorder.trail('postgres_changes')).toEqual([
      'SUBSCRIBED',
      'CHANNEL_ERROR:transport',
      'SUBSCRIBED',
    ]);
    expect(recorder.trail('broadcast')).toEqual(['SUBSCRIBED']);
    expect(recorder.statuses.find((change) => change.status === 'CHANNEL_ERROR')?.message).toBe(
      'channel error: transport failure',
    );
  });
});
