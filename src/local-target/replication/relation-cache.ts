/**
 * What the change feed knows about each table the WAL mentions: pgoutput sends a Relation
 * message (columns, type oids, replica identity) before a table's first change on a connection;
 * the cache adds the column types' names and the primary key, read once from the catalog.
 */
import type pg from 'pg';
import type { ColumnType } from './json-values.js';
import type { RelationMessage, ReplicaIdentity } from './pgoutput-decoder.js';

export interface RelationInfo {
  oid: number;
  schema: string;
  table: string;
  replicaIdentity: ReplicaIdentity;
  columns: { name: string; type: ColumnType; isKey: boolean }[];
  columnIndex: Map<string, number>;
  /** Column positions of the primary key, in key order; empty when the table has none. */
  primaryKey: number[];
}

/** A relation from its Relation message, its columns' types and its primary key's column names. */
export function relationInfo(
  message: RelationMessage,
  typeOf: (oid: number) => ColumnType | undefined,
  primaryKeyColumns: readonly string[],
): RelationInfo {
  const columns = message.columns.map((column) => ({
    name: column.name,
    isKey: column.isKey,
    type: typeOf(column.typeOid) ?? { name: 'text', elementName: null },
  }));
  const columnIndex = new Map(columns.map((column, index) => [column.name, index]));
  return {
    oid: message.relationOid,
    schema: message.schema,
    table: message.table,
    replicaIdentity: message.replicaIdentity,
    columns,
    columnIndex,
    primaryKey: primaryKeyColumns
      .map((name) => columnIndex.get(name))
      .filter((index): index is number => index !== undefined),
  };
}

export interface RelationCache {
  /** Reads what the message does not say (type names, primary key) and remembers the relation. */
  load(message: RelationMessage): Promise<void>;
  get(oid: number): RelationInfo | undefined;
  /** Forget every relation (a new replication connection resends them); type names are kept. */
  clear(): void;
}

export function createRelationCache(pool: pg.Pool): RelationCache {
  const relations = new Map<number, RelationInfo>();
  const types = new Map<number, ColumnType>();

  async function resolveTypes(oids: number[]): Promise<void> {
    const missing = [...new Set(oids)].filter((oid) => !types.has(oid));
    if (missing.length === 0) return;
    const { rows } = await pool.query<{ oid: number; name: string; element: string | null }>(
      `select t.oid::int as oid, t.typname::text as name,
              case when t.typcategory = 'A' then e.typname::text end as element
         from pg_type t left join pg_type e on e.oid = t.typelem
        where t.oid = any($1::oid[])`,
      [missing],
    );
    for (const row of rows) types.set(row.oid, { name: row.name, elementName: row.element });
  }

  return {
    async load(message) {
      await resolveTypes(message.columns.map((column) => column.typeOid));
      const { rows } = await pool.query<{ name: string }>(
        `select a.attname::text as name
           from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
          where i.indrelid = $1 and i.indisprimary
          order by array_position(i.indkey::int2[], a.attnum)`,
        [message.relationOid],
      );
      relations.set(
        message.relationOid,
        relationInfo(
          message,
          (oid) => types.get(oid),
          rows.map((row) => row.name),
        ),
      );
    },
    get: (oid) => relations.get(oid),
    clear: () => relations.clear(),
  };
}
