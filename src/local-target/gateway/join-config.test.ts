import { describe, expect, it } from 'vitest';
import { bindingId, parseJoinPayload } from './join-config.js';

describe('join config', () => {
  it('echoes postgres_changes bindings in order with the client fields unchanged and non-zero ids', () => {
    const requested = [
      { event: 'INSERT', schema: 'public', table: 'session_assignments', filter: 'status=eq.queued' },
      { event: '*', schema: 'public' },
    ];
    const config = parseJoinPayload({ config: { postgres_changes: requested } });
    expect(config.requestedBindings.map(({ id: _id, ...rest }) => rest)).toEqual(requested);
    for (const binding of config.requestedBindings) expect(binding.id).toBeGreaterThan(0);
    expect(config.bindings.map((binding) => binding.id)).toEqual(config.requestedBindings.map((b) => b.id));
    expect(config.bindings[0]).toMatchObject({
      event: 'INSERT',
      table: 'session_assignments',
      filter: 'status=eq.queued',
    });
  });

  it('gives identical bindings identical ids and different bindings different ids', () => {
    const a = { event: 'INSERT', schema: 'public', table: 't' };
    expect(bindingId({ table: 't', schema: 'public', event: 'INSERT' })).toBe(bindingId(a));
    expect(bindingId({ ...a, event: 'UPDATE' })).not.toBe(bindingId(a));
  });

  it('falls back to defaults for a malformed config instead of failing the join', () => {
    const config = parseJoinPayload({ config: 'nonsense', access_token: 42 });
    expect(config).toMatchObject({
      broadcastSelf: false,
      broadcastAck: false,
      isPrivate: false,
      accessToken: null,
      requestedBindings: [],
    });
  });

  it('uses the socket token when the join has none or an sb_ key', () => {
    expect(parseJoinPayload({ config: {} }).accessToken).toBeNull();
    expect(parseJoinPayload({ config: {}, access_token: 'sb_publishable_x' }).accessToken).toBeNull();
    expect(parseJoinPayload({ config: {}, user_token: 'a.b.c' }).accessToken).toBe('a.b.c');
  });

  it('keeps bindings it cannot serve out of the feed but still echoes them', () => {
    const config = parseJoinPayload({
      config: { postgres_changes: [{ event: 'TRUNCATE', schema: 'public' }] },
    });
    expect(config.requestedBindings).toHaveLength(1);
    expect(config.bindings).toHaveLength(0);
    expect(config.invalidBindings[0]).toContain('event: TRUNCATE');
  });

  it('reads broadcast self/ack, presence key and the private flag', () => {
    const config = parseJoinPayload({
      config: {
        broadcast: { self: true, ack: true },
        presence: { key: 'm-1', enabled: true },
        private: true,
      },
    });
    expect(config).toMatchObject({
      broadcastSelf: true,
      broadcastAck: true,
      presenceKey: 'm-1',
      presenceEnabled: true,
      isPrivate: true,
    });
    expect(parseJoinPayload({ config: { presence: { key: '', enabled: false } } }).presenceEnabled).toBe(
      false,
    );
  });

  it('reads broadcast replay, holding the limit to 1..25 and ignoring a replay without a valid since', () => {
    expect(parseJoinPayload({ config: { broadcast: { replay: { since: 1000, limit: 5 } } } }).replay).toEqual(
      {
        since: 1000,
        limit: 5,
      },
    );
    expect(
      parseJoinPayload({ config: { broadcast: { replay: { since: 1000, limit: 500 } } } }).replay,
    ).toEqual({ since: 1000, limit: 25 });
    expect(parseJoinPayload({ config: { broadcast: { replay: { since: 1000 } } } }).replay).toEqual({
      since: 1000,
      limit: 25,
    });
    expect(parseJoinPayload({ config: { broadcast: { replay: { since: 'yesterday' } } } }).replay).toBeNull();
    expect(parseJoinPayload({ config: {} }).replay).toBeNull();
  });
});
