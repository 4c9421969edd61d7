import { describe, expect, it } from 'vitest';
import type { ChangeSubscription, JwtClaims, PostgresChangeData } from '../components.js';
import { matchBatch, planDeliveries, planVisibility } from './batch-visibility.js';
import type { CommittedTransaction, DecodedChange } from './change-payload.js';
import { relationInfo } from './relation-cache.js';
import { accessKey, keyOf, type TableAccess } from './row-visibility.js';
import { compileBindings, SubscriptionRegistry } from './subscription-registry.js';

const TYPES: Record<number, string> = { 23: 'int4', 2950: 'uuid', 25: 'text' };
const COLUMNS = [
  ['id', 23],
  ['mechanic_id', 2950],
  ['note', 25],
] as const;
const assignments = relationInfo(
  {
    tag: 'relation',
    relationOid: 16_400,
    schema: 'public',
    table: 'session_assignments',
    replicaIdentity: 'default',
    columns: COLUMNS.map(([name, typeOid]) => ({ name, typeOid, isKey: name === 'id' })),
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

type Row = Omit<DecodedChange, 'relation'>;
const insert = (...newTuple: (string | null)[]): Row => ({
  type: 'INSERT',
  newTuple,
  oldTuple: null,
  oldIsKeyOnly: false,
});
const update = (...newTuple: (string | null)[]): Row => ({
  type: 'UPDATE',
  newTuple,
  oldTuple: null,
  oldIsKeyOnly: false,
});
const remove = (oldIsKeyOnly: boolean, ...oldTuple: (string | null)[]): Row => ({
  type: 'DELETE',
  newTuple: null,
  oldTuple,
  oldIsKeyOnly,
});

/** A registry whose subscriptions are all live, and the batch the transactions make for it. */
function batchFor(subscribers: { request: ChangeSubscription }[], ...transactions: CommittedTransaction[]) {
  const registry = new SubscriptionRegistry(() => {});
  for (const s of subscribers)
    registry.markLive(registry.add(s.request, compileBindings(s.request.bindings)));
  return { registry, batch: matchBatch(transactions, (change) => registry.matchesFor(change)) };
}

const everyColumn: TableAccess = {
  roleExists: true,
  rlsEnabled: true,
  selectableColumns: new Set(['id', 'mechanic_id', 'note']),
};

describe('batch visibility planner', () => {
  it('asks RLS once per claims group and table, however many subscriptions share the claims', () => {
    const [a1, a2, b] = [subscriber(mechanicA), subscriber(mechanicA), subscriber(mechanicB)];
    const { registry, batch } = batchFor(
      [a1, a2, b],
      transaction(900, insert('1', 'uuid-a', 'hi')),
      transaction(901, insert('2', 'uuid-b', 'yo')),
    );
    expect(batch.changes).toHaveLength(2);
    expect(batch.accessQueries).toEqual([{ role: 'authenticated', relationOid: 16_400 }]);
    expect(batch.xidsToCheck).toEqual([900, 901]);

    const plan = planVisibility(batch.changes, new Map([[accessKey('authenticated', 16_400), everyColumn]]));
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
    const { batch } = batchFor([subscriber(mechanicA)], transaction(902, remove(true, '5', null, null)));
    expect(batch.xidsToCheck).toEqual([]);
    const plan = planVisibility(batch.changes, new Map([[accessKey('authenticated', 16_400), everyColumn]]));
    expect(plan.requests).toEqual([]);
    const [delivery] = planDeliveries(batch.changes, plan, []);
    expect(delivery?.data).toMatchObject({ type: 'DELETE', old_record: { id: 5 } });
    expect(delivery?.data.record).toBeUndefined();
  });

  it('delivers nothing to a role that does not exist or cannot read the primary key', () => {
    const ghost = subscriber({ role: 'no_such_role', exp: 2_000_000_000 });
    const noKey = subscriber({ role: 'auditor', exp: 2_000_000_000 });
    const { batch } = batchFor([ghost, noKey], transaction(903, insert('3', 'uuid-a', 'x')));
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
    const { batch } = batchFor(
      [subscriber(mechanicA, 'mechanic_id=eq.uuid-a')],
      transaction(
        904,
        insert('4', 'uuid-b', null),
        update('5', 'uuid-a', null),
        remove(false, '6', 'uuid-a', null),
      ),
    );
    expect(batch.changes.map((c) => c.change.type)).toEqual(['UPDATE', 'DELETE']);
  });
});
