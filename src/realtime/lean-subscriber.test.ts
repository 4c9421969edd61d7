import { describe, expect, it } from 'vitest';
import { isCanaryError, systemClock } from '../shared/index.js';
import { createLeanSubscriber, realtimeEndpoint } from './lean-subscriber.js';
import { fixedToken } from './subscriber-config.js';
import type { SubscriberConfig } from './types.js';

function config(overrides: Partial<SubscriberConfig> = {}): SubscriberConfig {
  return {
    id: 'lean-1',
    supabaseUrl: 'http://127.0.0.1:54321',
    anonKey: 'anon-key',
    tokens: fixedToken('user-token'),
    schema: 'public',
    table: 'session_assignments',
    changesChannel: 'assignment-changes',
    broadcastChannel: 'mechanic-assignments',
    broadcastEvent: 'new_assignment',
    paths: ['postgres_changes', 'broadcast'],
    clock: systemClock,
    handlers: { onStatus: () => {}, onDelivery: () => {} },
    ...overrides,
  };
}

function failure(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('lean subscriber configuration', () => {
  it('builds the same socket URL as supabase-js, with http mapped to ws and https to wss', () => {
    expect(realtimeEndpoint('http://127.0.0.1:54321', 'k', '2.0.0')).toBe(
      'ws://127.0.0.1:54321/realtime/v1/websocket?apikey=k&vsn=2.0.0',
    );
    expect(realtimeEndpoint('https://abc.supabase.co/', 'k', '1.0.0')).toBe(
      'wss://abc.supabase.co/realtime/v1/websocket?apikey=k&vsn=1.0.0',
    );
  });

  it('rejects a project URL that is not a URL, saying what one looks like', () => {
    const error = failure(() => createLeanSubscriber(config({ supabaseUrl: 'not a url' })));
    expect(isCanaryError(error) && error.code).toBe('CONFIG_INVALID');
    expect(isCanaryError(error) && error.hint).toMatch(/supabase\.co/);
  });

  it('rejects a subscriber with no paths and one that would share a channel between both paths', () => {
    const noPaths = failure(() => createLeanSubscriber(config({ paths: [] })));
    expect(isCanaryError(noPaths) && noPaths.message).toMatch(/no paths/);
    const shared = failure(() =>
      createLeanSubscriber(config({ changesChannel: 'same', broadcastChannel: 'same' })),
    );
    expect(isCanaryError(shared) && shared.hint).toMatch(/different names/);
    // One path alone may use any channel name.
    expect(
      createLeanSubscriber(config({ paths: ['broadcast'], changesChannel: 'same', broadcastChannel: 'same' }))
        .kind,
    ).toBe('lean');
  });
});
