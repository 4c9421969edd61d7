/**
 * The postgres_changes payload Supabase Realtime sends for one decoded change, as one role sees
 * it: only the columns the role may SELECT, `old_record` by replica identity, and on RLS tables
 * a DELETE carries only the primary key (the row is gone, so RLS cannot be asked). Pure.
 */
import type { PostgresChangeData } from '../components.js';
import { toJsonValue } from './json-values.js';
import type { TupleValues } from './pgoutput-decoder.js';
import type { RelationInfo } from './relation-cache.js';
import type { TableAccess } from './row-visibility.js';

export type ChangeType = PostgresChangeData['type'];

export interface DecodedChange {
  relation: RelationInfo;
  type: ChangeType;
  newTuple: TupleValues | null;
  oldTuple: TupleValues | null;
  oldIsKeyOnly: boolean;
}

export interface CommittedTransaction {
  xid: number;
  changes: DecodedChange[];
  commitTimestamp: string;
}

function rowObject(
  relation: RelationInfo,
  tuple: TupleValues,
  include: (index: number) => boolean,
  fallback?: TupleValues | null,
): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  relation.columns.forEach((column, index) => {
    if (!include(index)) return;
    let value = tuple[index];
    // An unchanged TOASTed value is not resent; the old row (replica identity full) has it.
    if (value === undefined) value = fallback?.[index];
    if (value === undefined) return;
    record[column.name] = toJsonValue(value, column.type);
  });
  return record;
}

export function buildChangePayload(
  change: DecodedChange,
  commitTimestamp: string,
  access: TableAccess,
): PostgresChangeData {
  const { relation } = change;
  const base = { schema: relation.schema, table: relation.table };
  if (relation.primaryKey.length === 0) {
    // Supabase's shape for a table without a primary key carries no rows, columns or timestamp.
    return {
      ...base,
      type: change.type,
      errors: ['Error 400: Bad Request, no primary key'],
    } as unknown as PostgresChangeData;
  }
  const selectable = (index: number): boolean =>
    access.selectableColumns.has(relation.columns[index]?.name ?? '');
  const isPrimaryKey = (index: number): boolean => relation.primaryKey.includes(index) && selectable(index);
  const isReplicaKey = (index: number): boolean => selectable(index) && !!relation.columns[index]?.isKey;
  const data: PostgresChangeData = {
    ...base,
    commit_timestamp: commitTimestamp,
    type: change.type,
    columns: relation.columns
      .filter((_, index) => selectable(index))
      .map((column) => ({ name: column.name, type: column.type.name })),
    errors: null,
  };
  if (change.type !== 'DELETE' && change.newTuple) {
    data.record = rowObject(relation, change.newTuple, selectable, change.oldTuple);
  }
  if (change.type === 'UPDATE') {
    if (change.oldTuple && !change.oldIsKeyOnly) {
      data.old_record = rowObject(relation, change.oldTuple, selectable);
    } else if (change.oldTuple) {
      data.old_record = rowObject(relation, change.oldTuple, isReplicaKey);
    } else if (change.newTuple) {
      data.old_record = rowObject(relation, change.newTuple, isPrimaryKey);
    }
  }
  if (change.type === 'DELETE' && change.oldTuple) {
    const oldTuple = change.oldTuple;
    // The row is gone, so RLS cannot be asked; on RLS tables Supabase sends only the key.
    if (access.rlsEnabled) data.old_record = rowObject(relation, oldTuple, isPrimaryKey);
    else if (change.oldIsKeyOnly) data.old_record = rowObject(relation, oldTuple, isReplicaKey);
    else data.old_record = rowObject(relation, oldTuple, selectable);
  }
  return data;
}
