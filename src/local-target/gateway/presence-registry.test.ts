import { describe, expect, it } from 'vitest';
import { PresenceRegistry } from './presence-registry.js';

describe('presence registry', () => {
  it('reports a track as a join, an update as join plus leave with phx_ref_prev, and untrack as a leave', () => {
    const registry = new PresenceRegistry<string>();
    const first = registry.track('public:room', 'channel-a', 'm-1', { online_at: 1 });
    const ref = first?.joins['m-1']?.metas[0]?.phx_ref;
    expect(ref).toBeTypeOf('string');
    expect(first?.leaves).toEqual({});
    expect(registry.track('public:room', 'channel-a', 'm-1', { online_at: 1 })).toBeNull();

    const update = registry.track('public:room', 'channel-a', 'm-1', { online_at: 2 });
    expect(update?.joins['m-1']?.metas[0]).toMatchObject({ online_at: 2, phx_ref_prev: ref });
    expect(update?.leaves['m-1']?.metas[0]).toMatchObject({ online_at: 1, phx_ref: ref });

    registry.track('public:room', 'channel-b', 'm-1', { online_at: 3 });
    expect(registry.state('public:room')['m-1']?.metas).toHaveLength(2);
    const leave = registry.untrack('public:room', 'channel-a');
    expect(leave?.leaves['m-1']?.metas[0]).toMatchObject({ online_at: 2 });
    expect(registry.state('public:room')['m-1']?.metas).toHaveLength(1);
    expect(registry.untrack('public:room', 'channel-a')).toBeNull();
  });
});
