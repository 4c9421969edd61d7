/**
 * What a new postgres_changes subscription is checked against before it goes live, with
 * Supabase's wording when it fails: every binding's table is in the publication, and every
 * filter value casts to its column's type (cast by Postgres, so matching compares like it).
 */
import type pg from 'pg';
import type { ChangeBinding } from '../components.js';
import { describeFilters, type CompiledCondition, type FilterCondition } from './change-filter.js';
import type { CompiledBinding } from './subscription-registry.js';

export const REALTIME_PUBLICATION = 'supabase_realtime';

export interface PublishedTable {
  schema: string;
  table: string;
}

/** Supabase's wording when a binding points at something the publication does not carry. */
export function unableToSubscribeMessage(binding: ChangeBinding, conditions: FilterCondition[]): string {
  return (
    'Unable to subscribe to changes with given parameters. Please check Realtime is enabled for the given ' +
    `connect parameters: [event: ${binding.event}, schema: ${binding.schema}, table: ${binding.table ?? '*'}, ` +
    `filters: ${describeFilters(conditions)}, select: nil]`
  );
}

const CONDITION_NAMES: Record<string, string> = {
  '22P02': 'invalid_text_representation',
  '22003': 'numeric_value_out_of_range',
  '22007': 'invalid_datetime_format',
  '22008': 'datetime_field_overflow',
  '22001': 'string_data_right_truncation',
  P0001: 'raise_exception',
};

/** Supabase's wording for a database error met while checking a subscription. */
export function databaseErrorMessage(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  const name = code ? CONDITION_NAMES[code] : undefined;
  const prefix = code ? `ERROR ${code}${name ? ` (${name})` : ''} ` : '';
  return `Unable to subscribe to changes with given parameters. Exception: ${prefix}${message ?? String(error)}`;
}

export async function publishedTables(pool: pg.Pool): Promise<PublishedTable[]> {
  const { rows } = await pool.query<PublishedTable>(
    'select schemaname::text as schema, tablename::text as table from pg_publication_tables where pubname = $1',
    [REALTIME_PUBLICATION],
  );
  return rows;
}

/** The first binding whose table (or schema, for `*`) the publication does not carry. */
export function unpublishedBinding(
  bindings: readonly CompiledBinding[],
  published: readonly PublishedTable[],
): CompiledBinding | undefined {
  return bindings.find((binding) => {
    if (binding.table === undefined || binding.table === '*') {
      return !published.some((row) => binding.schema === '*' || row.schema === binding.schema);
    }
    return !published.some(
      (row) => (binding.schema === '*' || row.schema === binding.schema) && row.table === binding.table,
    );
  });
}

/**
 * Casts each filter value to its column's type and back, so matching compares like Postgres.
 * Returns Supabase's error message when a column is unknown or a value does not cast.
 */
export async function compileConditions(pool: pg.Pool, binding: CompiledBinding): Promise<string | null> {
  if (binding.conditions.length === 0 || binding.table === undefined || binding.table === '*') return null;
  const schema = binding.schema === '*' ? 'public' : binding.schema;
  const { rows } = await pool.query<{ name: string; sql_type: string; type_name: string }>(
    `select a.attname::text as name, format_type(a.atttypid, a.atttypmod) as sql_type, t.typname::text as type_name
       from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
       join pg_type t on t.oid = a.atttypid
      where n.nspname = $1 and c.relname = $2 and a.attnum > 0 and not a.attisdropped`,
    [schema, binding.table],
  );
  const columns = new Map(rows.map((row) => [row.name, row]));
  const compiled: CompiledCondition[] = [];
  for (const condition of binding.conditions) {
    const column = columns.get(condition.column);
    if (!column) {
      return `Unable to subscribe to changes with given parameters. Exception: ERROR P0001 (raise_exception) invalid column for filter ${condition.column}`;
    }
    try {
      // sql_type comes from the catalog (format_type), not from the client.
      const result = await pool.query<{ value: string }>(
        `select (v::${column.sql_type})::text as value from unnest($1::text[]) with ordinality as u(v, n) order by n`,
        [condition.values],
      );
      compiled.push({
        ...condition,
        values: result.rows.map((row) => row.value),
        typeName: column.type_name,
      });
    } catch (error) {
      return databaseErrorMessage(error);
    }
  }
  binding.conditions = compiled;
  return null;
}
