import { describe, expect, it } from 'vitest';
import type { ChangeSubscription, JwtClaims, PostgresChangeData } from '../components.js';
import { matchBatch, planDeliveries, planVisibility } from './batch-visibility.js';
import type { CommittedTransaction, DecodedChange } from './change-payload.js';
import { relationInfo } from './relation-cache.js';
import { accessKey, keyOf, type TableAccess } from './row-visibility.js';
import { compileBindings, SubscriptionRegistry } from './subscription-registry.js';

const TYPES: Record<number, string> = { 23: 'int4', 2950: 'uuid', 25: 'text' };
const assignments = relationInfo(
  {
    tag: 'relation',
    relationOid: 16_400,
    schema: 'public',
    table: 'session_assignments',
    replicaIdentity: 'default',
    columns: [
      { name: 'id', typeOid: 23, isKey: true },
      { name: 'mechanic_id', typeOid: 2950, isKey: false },
      { name: 'note', typeOid: 25, isKey: false },
    ],
  },
  (oid) => (TYPES[oid] ? { name: TYPES[oid], elementName: null } : undefined),
  ['id'],
);

const mechanicA: JwtClaims = { role: 'authenticated', sub: 'a', exp: 2_000_000_000 };
const mechanicB: JwtClaims = { role: 'authenticated', sub: 'b', exp: 2_000_000_000 };

function subscriber(claims: JwtClaims, filter?: string) {
  const received: PostgresChangeData[] = [];
  const request: ChangeSubscription = {
    bindings: [
      { id: 7, event: '*', schema: 'public', table: 'session_assignments', ...(filter ? { filter } : {}) },
    ],
    claims,
    onReady: () => {},
    onChange: (data) => received.push(data),
    onError: () => {},
  };
  return { request, received };
}

function transaction(xid: number, ...changes: Omit<DecodedChange, 'relation'>[]): CommittedTransaction {
  return {
    xid,
    commitTimestamp: '2026-12-03T12:00:00.000Z',
    changes: changes.map((change) => ({ relation: assignments, ...change })),
  };
}

const everyColumn: TableAccess = {
  roleExists: true,
  rlsEnabled: true,
  selectableColumns: new Set(['id', 'mechanic_id', 'note']),
};

describe('batch visibility planner', () => {
  it('asks RLS once per claims group and table, however many subscriptions share the claims', () => {
    const registry = new SubscriptionRegistry(() => {});
    const a1 = subscriber(mechanicA);
    const a2 = subscriber(mechanicA);
    const b = subscriber(mechanicB);
    for (const s of [a1, a2, b])
      registry.markLive(registry.add(s.request, compileBindings(s.request.bindings)));
    const insert = {
      type: 'INSERT',
      newTuple: ['1', 'uuid-a', 'hi'],
      oldTuple: null,
      oldIsKeyOnly: false,
    } satisfies Omit<DecodedChange, 'relation'>;
    const second = {
      type: 'INSERT',
      newTuple: ['2', 'uuid-b', 'yo'],
      oldTuple: null,
      oldIsKeyOnly: false,
    } satisfies Omit<DecodedChange, 'relation'>;

    const batch = matchBatch([transaction(900, insert), transaction(901, second)], (change) =>
      registry.matchesFor(change),
    );
    expect(batch.changes).toHaveLength(2);
    expect(batch.accessQueries).toEqual([{ role: 'authenticated', relationOid: 16_400 }]);
    expect(batch.xidsToCheck).toEqual([900, 901]);

    const plan = planVisibility(batch.changes, new Map([[accessKey('authenticated', 16_400), everyColumn]]));
    expect(plan.requests).toHaveLength(2);
    expect(plan.requests.map((r) => [JSON.parse(r.claimsJson).sub, r.keys])).toEqual([
      ['a', [['1'], ['2']]],
      ['b', [['1'], ['2']]],
    ]);

    // Postgres answered: a sees row 1 only, b sees row 2 only.
    const deliveries = planDeliveries(batch.changes, plan, [
      new Set([keyOf(['1'])]),
      new Set([keyOf(['2'])]),
    ]);
    for (const delivery of deliveries) registry.deliver(delivery.subscription, delivery.data, delivery.ids);
    expect(a1.received.map((d) => d.record?.id)).toEqual([1]);
    expect(a2.received[0]).toBe(a1.received[0]);
    expect(b.received.map((d) => d.record)).toEqual([{ id: 2, mechanic_id: 'uuid-b', note: 'yo' }]);
    expect(deliveries.every((d) => d.ids.length === 1 && d.ids[0] === 7)).toBe(true);
  });

  it('needs no RLS question for a DELETE, and sends only the key of a deleted row on an RLS table', () => {
    const registry = new SubscriptionRegistry(() => {});
    const a = subscriber(mechanicA);
    registry.markLive(registry.add(a.request, compileBindings(a.request.bindings)));
    const remove = {
      type: 'DELETE',
      newTuple: null,
      oldTuple: ['5', null, null],
      oldIsKeyOnly: true,
    } satisfies Omit<DecodedChange, 'relation'>;
    const batch = matchBatch([transaction(902, remove)], (change) => registry.matchesFor(change));
    expect(batch.xidsToCheck).toEqual([]);
    const plan = planVisibility(batch.changes, new Map([[accessKey('authenticated', 16_400), everyColumn]]));
    expect(plan.requests).toEqual([]);
    const [delivery] = planDeliveries(batch.changes, plan, []);
    expect(delivery?.data).toMatchObject({ type: 'DELETE', old_record: { id: 5 } });
    expect(delivery?.data.record).toBeUndefined();
  });

  it('delivers nothing to a role that does not exist or cannot read the primary key', () => {
    const registry = new SubscriptionRegistry(() => {});
    const ghost = subscriber({ role: 'no_such_role', exp: 2_000_000_000 });
    const noKey = subscriber({ role: 'auditor', exp: 2_000_000_000 });
    for (const s of [ghost, noKey])
      registry.markLive(registry.add(s.request, compileBindings(s.request.bindings)));
    const insert = {
      type: 'INSERT',
      newTuple: ['3', 'uuid-a', 'x'],
      oldTuple: null,
      oldIsKeyOnly: false,
    } satisfies Omit<DecodedChange, 'relation'>;
    const batch = matchBatch([transaction(903, insert)], (change) => registry.matchesFor(change));
    const access = new Map<string, TableAccess>([
      [
        accessKey('no_such_role', 16_400),
        { roleExists: false, rlsEnabled: false, selectableColumns: new Set() },
      ],
      [
        accessKey('auditor', 16_400),
        { roleExists: true, rlsEnabled: false, selectableColumns: new Set(['note']) },
      ],
    ]);
    const plan = planVisibility(batch.changes, access);
    expect(plan.requests).toEqual([]);
    expect(planDeliveries(batch.changes, plan, [])).toEqual([]);
  });

  it('matches filters against the new row, and a DELETE against the old one', () => {
    const registry = new SubscriptionRegistry(() => {});
    const mine = subscriber(mechanicA, 'mechanic_id=eq.uuid-a');
    registry.markLive(registry.add(mine.request, compileBindings(mine.request.bindings)));
    const other = {
      type: 'INSERT',
      newTuple: ['4', 'uuid-b', null],
      oldTuple: null,
      oldIsKeyOnly: false,
    } satisfies Omit<DecodedChange, 'relation'>;
    const ours = {
      type: 'UPDATE',
      newTuple: ['5', 'uuid-a', null],
      oldTuple: null,
      oldIsKeyOnly: false,
    } satisfies Omit<DecodedChange, 'relation'>;
    const gone = {
      type: 'DELETE',
      newTuple: null,
      oldTuple: ['6', 'uuid-a', null],
      oldIsKeyOnly: false,
    } satisfies Omit<DecodedChange, 'relation'>;
    const batch = matchBatch([transaction(904, other, ours, gone)], (change) => registry.matchesFor(change));
    expect(batch.changes.map((c) => c.change.type)).toEqual(['UPDATE', 'DELETE']);
  });
});
