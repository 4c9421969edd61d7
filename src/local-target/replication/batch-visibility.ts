/**
 * The pure core of a replication batch: which subscriptions each committed change matches, which
 * catalog facts and RLS questions that takes — one visibility request per (claims group, table),
 * however many subscriptions share it — and, given Postgres's answers, who gets which payload in
 * WAL order (subscriptions whose roles read the same columns share one payload object). The change
 * feed asks Postgres in between; everything here is decided without it.
 */
import type { PostgresChangeData } from '../components.js';
import { buildChangePayload, type CommittedTransaction, type DecodedChange } from './change-payload.js';
import {
  accessKey,
  keyOf,
  type AccessQuery,
  type TableAccess,
  type VisibilityRequest,
} from './row-visibility.js';
import type { FeedSubscription, Match, SubscriberGroup } from './subscription-registry.js';

export interface MatchedChange {
  change: DecodedChange;
  commitTimestamp: string;
  matches: Match[];
}

export interface MatchedBatch {
  /** Changes with at least one match, in WAL order. */
  changes: MatchedChange[];
  /** Catalog facts to read: each matched table for each role that matched it. */
  accessQueries: AccessQuery[];
  /** Transactions whose rows RLS must see before it is asked (not needed for DELETEs). */
  xidsToCheck: number[];
}

export function matchBatch(
  transactions: readonly CommittedTransaction[],
  matchesFor: (change: DecodedChange) => Match[],
): MatchedBatch {
  const changes: MatchedChange[] = [];
  const rolesByRelation = new Map<number, Set<string>>();
  const xids = new Set<number>();
  for (const transaction of transactions) {
    for (const change of transaction.changes) {
      const matches = matchesFor(change);
      if (matches.length === 0) continue;
      let roles = rolesByRelation.get(change.relation.oid);
      if (!roles) rolesByRelation.set(change.relation.oid, (roles = new Set()));
      for (const { group } of matches) roles.add(group.role);
      changes.push({ change, commitTimestamp: transaction.commitTimestamp, matches });
      if (change.type !== 'DELETE') xids.add(transaction.xid);
    }
  }
  return {
    changes,
    accessQueries: [...rolesByRelation].flatMap(([relationOid, roles]) =>
      [...roles].map((role) => ({ role, relationOid })),
    ),
    xidsToCheck: [...xids],
  };
}

interface GroupVerdict {
  access: TableAccess | undefined;
  /** Index of the visibility request that decides the row for this group, if RLS must be asked. */
  request: number | undefined;
}

export interface VisibilityPlan {
  /** The RLS questions, one per (claims group, table), each with the keys of its rows. */
  requests: VisibilityRequest[];
  /** Per matched change: its row key and what each matched group's delivery depends on. */
  perChange: { rowKey: string; groups: Map<SubscriberGroup, GroupVerdict> }[];
}

export function planVisibility(
  changes: readonly MatchedChange[],
  access: ReadonlyMap<string, TableAccess>,
): VisibilityPlan {
  const requests: VisibilityRequest[] = [];
  const requestIndex = new Map<string, number>();
  const requestRows: Set<string>[] = [];
  const perChange = changes.map(({ change, matches }) => {
    const { relation } = change;
    const primaryKey = relation.primaryKey.map((i) => change.newTuple?.[i] ?? '');
    const rowKey = keyOf(primaryKey);
    const groups = new Map<SubscriberGroup, GroupVerdict>();
    for (const { group } of matches) {
      if (groups.has(group)) continue;
      const tableAccess = access.get(accessKey(group.role, relation.oid));
      let request: number | undefined;
      const rowCheck =
        change.type !== 'DELETE' &&
        relation.primaryKey.length > 0 &&
        !!tableAccess?.roleExists &&
        tableAccess.rlsEnabled;
      if (rowCheck) {
        const key = `${group.key}\u0000${relation.oid}`;
        request = requestIndex.get(key);
        if (request === undefined) {
          request = requests.length;
          requestIndex.set(key, request);
          requestRows.push(new Set());
          requests.push({
            role: group.role,
            claimsJson: group.claimsJson,
            schema: relation.schema,
            table: relation.table,
            primaryKey: relation.primaryKey.map((i) => relation.columns[i]?.name ?? ''),
            keys: [],
          });
        }
        const rows = requestRows[request]!;
        if (!rows.has(rowKey)) {
          rows.add(rowKey);
          requests[request]!.keys.push(primaryKey);
        }
      }
      groups.set(group, { access: tableAccess, request });
    }
    return { rowKey, groups };
  });
  return { requests, perChange };
}

export interface PlannedDelivery {
  subscription: FeedSubscription;
  data: PostgresChangeData;
  ids: number[];
}

/**
 * Who gets what, in WAL order, given the row keys each visibility request found visible. A group
 * gets nothing when its role does not exist, cannot read the primary key, or RLS hides the row.
 */
export function planDeliveries(
  changes: readonly MatchedChange[],
  plan: VisibilityPlan,
  visible: readonly Set<string>[],
): PlannedDelivery[] {
  const deliveries: PlannedDelivery[] = [];
  changes.forEach(({ change, commitTimestamp, matches }, index) => {
    const { rowKey, groups } = plan.perChange[index]!;
    const { relation } = change;
    const payloads = new Map<TableAccess, PostgresChangeData>();
    const decided = new Map<SubscriberGroup, PostgresChangeData | null>();
    const decide = (group: SubscriberGroup): PostgresChangeData | null => {
      const verdict = groups.get(group);
      const tableAccess = verdict?.access;
      if (!verdict || !tableAccess?.roleExists) return null;
      const keyReadable = relation.primaryKey.every((i) =>
        tableAccess.selectableColumns.has(relation.columns[i]?.name ?? ''),
      );
      if (relation.primaryKey.length > 0 && !keyReadable) return null;
      if (verdict.request !== undefined && !visible[verdict.request]?.has(rowKey)) return null;
      let data = payloads.get(tableAccess);
      if (!data) {
        data = buildChangePayload(change, commitTimestamp, tableAccess);
        payloads.set(tableAccess, data);
      }
      return data;
    };
    for (const match of matches) {
      let data = decided.get(match.group);
      if (data === undefined) {
        data = decide(match.group);
        decided.set(match.group, data);
      }
      if (data) deliveries.push({ subscription: match.subscription, data, ids: match.ids });
    }
  });
  return deliveries;
}
