/**
 * What tables and columns the REST layer may name, read once from information_schema at start.
 * Every identifier in a request is checked against this before any SQL is built, so names are
 * never spliced into a query unchecked.
 */
import type pg from 'pg';

export interface ColumnInfo {
  name: string;
  /** format_type() text, e.g. `uuid`, `timestamp with time zone`, `jsonb`, `text[]`. */
  type: string;
  /** True for json/jsonb: values are sent to Postgres as JSON text. */
  isJson: boolean;
  hasDefault: boolean;
  nullable: boolean;
}

export interface TableInfo {
  schema: string;
  name: string;
  columns: Map<string, ColumnInfo>;
  primaryKey: string[];
}

export interface SchemaCache {
  table(schema: string, name: string): TableInfo | undefined;
  tables(): TableInfo[];
  refresh(): Promise<void>;
}

/** Tables that belong to the target's own bookkeeping, not the API. */
const HIDDEN_TABLES = new Set(['canary_migrations']);

export async function loadSchemaCache(pool: pg.Pool, schemas: string[] = ['public']): Promise<SchemaCache> {
  let byKey = new Map<string, TableInfo>();

  async function refresh(): Promise<void> {
    const columns = await pool.query<{
      schema: string;
      table: string;
      column: string;
      type: string;
      has_default: boolean;
      nullable: boolean;
    }>(
      `select n.nspname as schema, c.relname as table, a.attname as column,
              format_type(a.atttypid, a.atttypmod) as type, a.atthasdef as has_default,
              not a.attnotnull as nullable
         from pg_attribute a
         join pg_class c on c.oid = a.attrelid
         join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = any($1) and c.relkind in ('r', 'v', 'm', 'p', 'f')
          and a.attnum > 0 and not a.attisdropped
        order by n.nspname, c.relname, a.attnum`,
      [schemas],
    );
    const keys = await pool.query<{ schema: string; table: string; column: string }>(
      `select n.nspname as schema, c.relname as table, a.attname as column
         from pg_index i
         join pg_class c on c.oid = i.indrelid
         join pg_namespace n on n.oid = c.relnamespace
         join pg_attribute a on a.attrelid = c.oid and a.attnum = any(i.indkey)
        where i.indisprimary and n.nspname = any($1)
        order by array_position(i.indkey, a.attnum)`,
      [schemas],
    );
    const next = new Map<string, TableInfo>();
    for (const row of columns.rows) {
      if (HIDDEN_TABLES.has(row.table)) continue;
      const key = `${row.schema}.${row.table}`;
      let table = next.get(key);
      if (!table) {
        table = { schema: row.schema, name: row.table, columns: new Map(), primaryKey: [] };
        next.set(key, table);
      }
      table.columns.set(row.column, {
        name: row.column,
        type: row.type,
        isJson: row.type === 'json' || row.type === 'jsonb',
        hasDefault: row.has_default,
        nullable: row.nullable,
      });
    }
    for (const row of keys.rows) next.get(`${row.schema}.${row.table}`)?.primaryKey.push(row.column);
    byKey = next;
  }

  await refresh();
  return {
    table: (schema, name) => byKey.get(`${schema}.${name}`),
    tables: () => [...byKey.values()],
    refresh,
  };
}
