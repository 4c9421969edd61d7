import { describe, expect, it } from 'vitest';
import type { ChangeSubscription, JwtClaims, PostgresChangeData } from '../components.js';
import { compileBindings, SubscriptionRegistry } from './subscription-registry.js';

const claims = (sub: string): JwtClaims => ({ role: 'authenticated', sub, exp: 2_000_000_000 });
const data = (n: number): PostgresChangeData => ({
  schema: 'public',
  table: 't',
  commit_timestamp: '2026-12-03T12:00:00.000Z',
  type: 'INSERT',
  columns: [],
  record: { n },
  errors: null,
});

function request(sub: string, events: string[]): ChangeSubscription {
  return {
    bindings: [{ id: 1, event: 'INSERT', schema: 'public', table: 't' }],
    claims: claims(sub),
    onReady: () => events.push('ready'),
    onChange: (change) => events.push(`change ${String(change.record?.n)}`),
    onError: (message) => events.push(`error ${message}`),
  };
}

describe('subscription registry', () => {
  it('holds changes while a subscription is checked and hands them over in order once it is live', () => {
    const events: string[] = [];
    const registry = new SubscriptionRegistry(() => {});
    const subscription = registry.add(request('a', events), compileBindings(request('a', []).bindings));
    registry.deliver(subscription, data(1), [1]);
    registry.deliver(subscription, data(2), [1]);
    expect(events).toEqual([]);
    registry.markLive(subscription);
    registry.deliver(subscription, data(3), [1]);
    expect(events).toEqual(['ready', 'change 1', 'change 2', 'change 3']);
  });

  it('interns claims groups, moves a subscription on new claims and forgets a group nobody holds', () => {
    const registry = new SubscriptionRegistry(() => {});
    const bindings = () => compileBindings(request('a', []).bindings);
    const first = registry.add(request('a', []), bindings());
    const second = registry.add(request('a', []), bindings());
    expect(first.group).toBe(second.group);
    expect(registry.groupCount()).toBe(1);
    registry.updateClaims(second, claims('b'));
    expect(registry.groupCount()).toBe(2);
    registry.retire(first, 'closed');
    expect(registry.groupCount()).toBe(1);
    expect(registry.active()).toEqual([second]);
  });

  it('fails a subscription once, delivers nothing after, and reports a callback that throws instead of throwing', () => {
    const events: string[] = [];
    const warnings: string[] = [];
    const registry = new SubscriptionRegistry((message) => warnings.push(message));
    const failing = registry.add(request('a', events), compileBindings(request('a', []).bindings));
    registry.fail(failing, 'not in the publication');
    registry.fail(failing, 'again');
    registry.deliver(failing, data(1), [1]);
    expect(events).toEqual(['error not in the publication']);

    const throwing = registry.add(
      {
        ...request('b', []),
        onChange: () => {
          throw new Error('subscriber bug');
        },
      },
      compileBindings(request('b', []).bindings),
    );
    registry.markLive(throwing);
    expect(() => registry.deliver(throwing, data(2), [1])).not.toThrow();
    expect(warnings).toEqual(['change subscriber threw']);
  });
});
