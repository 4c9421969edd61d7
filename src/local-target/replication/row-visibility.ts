/**
 * "Would this subscriber see the row now?" asked of Postgres itself, as Supabase Realtime's
 * `apply_rls` does: as the subscriber's role, with its JWT claims in `request.jwt.claims`, select
 * the changed rows by primary key and let row level security decide. One transaction answers a
 * whole batch: one role switch and one select per distinct (role, claims) set and table, however
 * many subscriptions share those claims. Nothing is cached between batches, so a policy, grant
 * or RLS switch takes effect on the next change.
 */
import pg from 'pg';
import type { Logger } from '../../shared/index.js';

/** What one role may do with one table, read from the catalog for each batch. */
export interface TableAccess {
  roleExists: boolean;
  rlsEnabled: boolean;
  /** Columns the role may SELECT (table grant or column grants), in attnum order. */
  selectableColumns: Set<string>;
}

export interface AccessQuery {
  role: string;
  relationOid: number;
}

export function accessKey(role: string, relationOid: number): string {
  return `${role}\u0000${relationOid}`;
}

/** One query: for each (role, table), whether the role exists, RLS is on, and which columns it may read. */
export async function readTableAccess(
  client: pg.PoolClient | pg.Pool,
  queries: AccessQuery[],
): Promise<Map<string, TableAccess>> {
  const result = new Map<string, TableAccess>();
  if (queries.length === 0) return result;
  const { rows } = await client.query<{
    role: string;
    relid: number;
    role_exists: boolean;
    rls: boolean;
    columns: string[] | null;
  }>(
    `select q.role, q.relid::int as relid, r.oid is not null as role_exists, c.relrowsecurity as rls,
            case when r.oid is null then null else array(
              select a.attname::text from pg_attribute a
              where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                and has_column_privilege(r.oid, c.oid, a.attnum, 'SELECT')
              order by a.attnum) end as columns
       from unnest($1::text[], $2::oid[]) as q(role, relid)
       join pg_class c on c.oid = q.relid
       left join pg_roles r on r.rolname = q.role`,
    [queries.map((query) => query.role), queries.map((query) => query.relationOid)],
  );
  for (const row of rows) {
    result.set(accessKey(row.role, row.relid), {
      roleExists: row.role_exists,
      rlsEnabled: row.rls,
      selectableColumns: new Set(row.columns ?? []),
    });
  }
  return result;
}

/**
 * Waits (bounded) until the given transactions are visible to new snapshots. A commit record can
 * reach the WAL sender a moment before the committing backend has published it to other sessions;
 * an RLS check in that moment would not find the row and wrongly hide it from everyone.
 * (Transaction ids are taken to be in the current xid epoch.)
 */
export async function waitForCommitsVisible(
  pool: pg.Pool,
  xids: number[],
  options: { attempts?: number } = {},
): Promise<boolean> {
  if (xids.length === 0) return true;
  const attempts = options.attempts ?? 40;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const { rows } = await pool.query<{ visible: boolean }>(
      `select coalesce(bool_and(pg_visible_in_snapshot(
                ((((pg_snapshot_xmax(s)::text::bigint) >> 32) << 32) | x)::text::xid8, s)), true) as visible
         from unnest($1::bigint[]) as x, pg_current_snapshot() as s`,
      [xids],
    );
    if (rows[0]?.visible) return true;
    await new Promise((resolve) => setTimeout(resolve, Math.min(50, 2 + attempt * 2)));
  }
  return false;
}

export interface VisibilityRequest {
  role: string;
  /** The claims JSON exactly as the subscriber's token carried them. */
  claimsJson: string;
  schema: string;
  table: string;
  primaryKey: string[];
  /** Primary-key values (Postgres text form) of the rows to check, one array per row. */
  keys: string[][];
}

/** Stable identity of a primary-key tuple: the JSON of its text values. */
export function keyOf(values: readonly (string | null | undefined)[]): string {
  return JSON.stringify(values);
}

function selectStatement(request: VisibilityRequest, tag: number): string {
  const table = `${pg.escapeIdentifier(request.schema)}.${pg.escapeIdentifier(request.table)}`;
  const columns = request.primaryKey.map((column) => `${pg.escapeIdentifier(column)}::text`).join(', ');
  const target = `(${request.primaryKey.map((column) => pg.escapeIdentifier(column)).join(', ')})`;
  const tuples = request.keys.map((key) => `(${key.map((value) => pg.escapeLiteral(value)).join(', ')})`);
  return `select ${tag} as canary_request, json_build_array(${columns})::text as canary_key from ${table} where ${target} in (${tuples.join(', ')})`;
}

function requestStatements(request: VisibilityRequest, tag: number): string {
  return (
    `set local role ${pg.escapeIdentifier(request.role)}; ` +
    `select set_config('request.jwt.claims', ${pg.escapeLiteral(request.claimsJson)}, true); ` +
    `${selectStatement(request, tag)};`
  );
}

type QueryOutput = pg.QueryResult<{ canary_request?: number; canary_key?: string }>;

function collect(results: QueryOutput | QueryOutput[], visible: Set<string>[]): void {
  for (const result of Array.isArray(results) ? results : [results]) {
    for (const row of result.rows ?? []) {
      if (row.canary_request === undefined || row.canary_key === undefined) continue;
      // json_build_array prints `["a", "b"]`; normalise to keyOf's spacing.
      visible[row.canary_request]?.add(keyOf(JSON.parse(row.canary_key) as string[]));
    }
  }
}

/**
 * For each request, the keys (see keyOf) of rows the role + claims may see now. A request whose
 * check fails (a policy raising, say) sees nothing; the others are still answered.
 */
export async function checkVisibility(
  pool: pg.Pool,
  requests: VisibilityRequest[],
  logger: Logger,
): Promise<Set<string>[]> {
  const visible = requests.map(() => new Set<string>());
  const pending = requests
    .map((request, index) => ({ request, index }))
    .filter((item) => item.request.keys.length > 0);
  if (pending.length === 0) return visible;
  const client = await pool.connect();
  // A checked-out client has no pool error listener; without one a dying connection crashes the process.
  const onClientError = (error: Error): void =>
    logger.debug('replication: RLS check connection', { error: error.message });
  client.on('error', onClientError);
  try {
    const batch = `begin read only; ${pending.map(({ request, index }) => requestStatements(request, index)).join(' ')} rollback;`;
    try {
      collect((await client.query(batch)) as unknown as QueryOutput[], visible);
      return visible;
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      logger.debug('replication: batched RLS check failed, checking one by one', {
        error: (error as Error).message,
      });
    }
    for (const set of visible) set.clear();
    for (const { request, index } of pending) {
      try {
        const single = `begin read only; ${requestStatements(request, index)} rollback;`;
        collect((await client.query(single)) as unknown as QueryOutput[], visible);
      } catch (error) {
        await client.query('rollback').catch(() => undefined);
        logger.warn('replication: RLS check failed; the change is not delivered to these subscribers', {
          role: request.role,
          table: `${request.schema}.${request.table}`,
          error: (error as Error).message,
        });
      }
    }
    return visible;
  } finally {
    client.off('error', onClientError);
    client.release();
  }
}
