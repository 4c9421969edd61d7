/**
 * `/rest/v1/:table` — the PostgREST subset supabase-js uses: select (filters, order, limit,
 * offset, count), insert (single, bulk, upsert), update, delete, `return=representation|minimal`
 * and singular responses. Every request runs inside Postgres as the caller's role.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import type { TargetContext } from '../components.js';
import { runAsRole } from '../database/index.js';
import {
  PostgrestError,
  fromDatabaseError,
  parseError,
  singularityError,
  unknownBodyColumn,
  unknownTable,
} from './postgrest-error.js';
import { QueryParser, type ParsedQuery } from './query-string.js';
import { authenticate, GatewayAuthError, type Caller } from './request-auth.js';
import { loadSchemaCache, type SchemaCache, type TableInfo } from './schema-cache.js';
import { SqlBuilder, quoteIdent } from './sql-builder.js';

const SINGULAR = 'application/vnd.pgrst.object+json';
const EXPOSED_SCHEMAS = ['public'];
/** Postgres allows 65535 bind parameters per statement; bulk inserts must fit. */
const MAX_PARAMS = 60_000;

interface Preferences {
  returnMode: 'representation' | 'minimal' | 'headers-only';
  count?: 'exact' | 'planned' | 'estimated';
  missingDefault: boolean;
  resolution?: 'merge-duplicates' | 'ignore-duplicates';
}

function parsePrefer(request: FastifyRequest): Preferences {
  const raw = request.headers.prefer;
  const tokens = (Array.isArray(raw) ? raw.join(',') : (raw ?? ''))
    .split(',')
    .map((token) => token.trim())
    .filter(Boolean);
  const prefs: Preferences = { returnMode: 'minimal', missingDefault: false };
  for (const token of tokens) {
    const [key, value] = token.split('=').map((part) => part.trim());
    if (key === 'return' && (value === 'representation' || value === 'minimal' || value === 'headers-only')) {
      prefs.returnMode = value;
    } else if (key === 'count' && (value === 'exact' || value === 'planned' || value === 'estimated')) {
      prefs.count = value;
    } else if (key === 'missing') {
      prefs.missingDefault = value === 'default';
    } else if (key === 'resolution' && (value === 'merge-duplicates' || value === 'ignore-duplicates')) {
      prefs.resolution = value;
    }
  }
  return prefs;
}

function schemaOf(request: FastifyRequest): string {
  const name = request.method === 'GET' || request.method === 'HEAD' ? 'accept-profile' : 'content-profile';
  const raw = request.headers[name];
  const schema = (Array.isArray(raw) ? raw[0] : raw) ?? 'public';
  if (!EXPOSED_SCHEMAS.includes(schema)) {
    throw new PostgrestError(
      406,
      'PGRST106',
      `The schema must be one of the following: ${EXPOSED_SCHEMAS.join(', ')}`,
    );
  }
  return schema;
}

function wantsSingular(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return accept.includes(SINGULAR);
}

function searchParams(request: FastifyRequest): URLSearchParams {
  const url = request.raw.url ?? '';
  const at = url.indexOf('?');
  return new URLSearchParams(at < 0 ? '' : url.slice(at + 1));
}

interface Aggregated {
  body: string;
  first: string | null;
  n: number;
}

async function aggregate(client: pg.PoolClient, sql: string, params: unknown[]): Promise<Aggregated> {
  const result = await client.query<Aggregated>(sql, params);
  return result.rows[0] ?? { body: '[]', first: null, n: 0 };
}

function bodyRows(table: TableInfo, body: unknown): Record<string, unknown>[] {
  const rows = Array.isArray(body) ? body : [body];
  for (const row of rows) {
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      throw new PostgrestError(400, 'PGRST102', 'All object keys must match', {
        details: `expected a JSON object or an array of objects for ${table.name}`,
      });
    }
  }
  return rows as Record<string, unknown>[];
}

function insertStatement(
  builder: SqlBuilder,
  table: TableInfo,
  query: ParsedQuery,
  rows: Record<string, unknown>[],
  prefs: Preferences,
  returning: string | null,
): string {
  const columns =
    query.columns ??
    [...new Set(rows.flatMap((row) => Object.keys(row)))].map((name) => {
      if (!table.columns.has(name)) throw unknownBodyColumn(table.name, name);
      return name;
    });
  for (const row of rows) {
    for (const key of Object.keys(row)) {
      if (!table.columns.has(key)) throw unknownBodyColumn(table.name, key);
    }
  }
  if (rows.length * Math.max(columns.length, 1) > MAX_PARAMS) {
    throw new PostgrestError(413, 'PGRST000', 'too many values in one insert for the local target', {
      hint: 'insert in batches of fewer rows',
    });
  }
  let sql: string;
  if (columns.length === 0) {
    sql =
      rows.length === 1
        ? `insert into ${builder.qualifiedTable} default values`
        : `insert into ${builder.qualifiedTable} select from generate_series(1, ${rows.length})`;
  } else {
    const values = rows.map(
      (row) =>
        `(${columns
          .map((column) =>
            column in row
              ? builder.bodyValue(column, row[column])
              : prefs.missingDefault
                ? 'default'
                : 'null',
          )
          .join(', ')})`,
    );
    sql = `insert into ${builder.qualifiedTable} (${columns.map(quoteIdent).join(', ')}) values ${values.join(', ')}`;
  }
  if (prefs.resolution) {
    const target = query.onConflict ?? table.primaryKey;
    if (target.length === 0) {
      throw parseError(
        `${table.name} has no primary key`,
        'pass on_conflict with the unique columns to upsert on',
      );
    }
    const updates = columns.filter((column) => !target.includes(column));
    sql += ` on conflict (${target.map(quoteIdent).join(', ')})`;
    sql +=
      prefs.resolution === 'ignore-duplicates' || updates.length === 0
        ? ' do nothing'
        : ` do update set ${updates.map((column) => `${quoteIdent(column)} = excluded.${quoteIdent(column)}`).join(', ')}`;
  }
  return returning === null ? sql : `${sql} returning ${returning}`;
}

function updateStatement(
  builder: SqlBuilder,
  table: TableInfo,
  query: ParsedQuery,
  body: Record<string, unknown>,
  returning: string | null,
): string {
  const assignments = Object.entries(body).map(([column, value]) => {
    if (!table.columns.has(column)) throw unknownBodyColumn(table.name, column);
    return `${quoteIdent(column)} = ${builder.bodyValue(column, value)}`;
  });
  const sql = `update ${builder.qualifiedTable} set ${assignments.join(', ')}${builder.where(query.where)}`;
  return returning === null ? sql : `${sql} returning ${returning}`;
}

function contentRange(offset: number, n: number, total: number | undefined): string {
  const totalText = total === undefined ? '*' : String(total);
  return n === 0 ? `*/${totalText}` : `${offset}-${offset + n - 1}/${totalText}`;
}

async function handle(
  request: FastifyRequest<{ Params: { table: string } }>,
  reply: FastifyReply,
  ctx: TargetContext,
  cache: SchemaCache,
): Promise<void> {
  let caller: Caller | undefined;
  try {
    caller = await authenticate(request, ctx.keys);
    const schema = schemaOf(request);
    const table =
      cache.table(schema, request.params.table) ??
      (await refreshedLookup(cache, schema, request.params.table));
    if (!table) throw unknownTable(schema, request.params.table);
    const parser = new QueryParser(table);
    const query = parser.parse(searchParams(request));
    const prefs = parsePrefer(request);
    const singular = wantsSingular(request);
    const builder = new SqlBuilder(table);
    const method = request.method;
    const path = request.url.split('?')[0] ?? request.url;
    const identity = { role: caller.role, claims: caller.claims, method, path };
    const jsonType = singular ? `${SINGULAR}; charset=utf-8` : 'application/json; charset=utf-8';

    if (method === 'GET' || method === 'HEAD') {
      const sql = builder.selectStatement(query);
      const { result, total } = await runAsRole(ctx.db.adminPool, identity, async (client) => {
        const result = await aggregate(client, sql, builder.params);
        let total: number | undefined;
        if (prefs.count) {
          const counter = new SqlBuilder(table);
          const countSql = counter.countStatement(query);
          total = (await client.query<{ total: number }>(countSql, counter.params)).rows[0]?.total;
        }
        return { result, total };
      });
      if (singular && result.n !== 1) throw singularityError(result.n);
      void reply
        .status(200)
        .header('Content-Type', jsonType)
        .header('Content-Range', contentRange(query.offset ?? 0, result.n, total));
      if (method === 'HEAD') return void reply.send();
      return void reply.send(singular ? result.first : result.body);
    }

    const body: unknown = request.body;
    const wantsRows = prefs.returnMode === 'representation';
    const returning = wantsRows ? builder.selectList(query.select) : null;
    let sql: string;
    if (method === 'POST') {
      if (body === undefined) throw new PostgrestError(400, 'PGRST102', 'Empty or invalid json');
      sql = insertStatement(builder, table, query, bodyRows(table, body), prefs, returning);
    } else if (method === 'PATCH') {
      if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
        throw new PostgrestError(400, 'PGRST102', 'Empty or invalid json', {
          details: 'PATCH takes one JSON object of columns to set',
        });
      }
      if (Object.keys(body).length === 0) {
        void reply.status(wantsRows ? 200 : 204).header('Content-Range', '*/*');
        return void reply.send(wantsRows ? (singular ? null : '[]') : undefined);
      }
      sql = updateStatement(builder, table, query, body as Record<string, unknown>, returning);
    } else {
      sql = `delete from ${builder.qualifiedTable}${builder.where(query.where)}${returning ? ` returning ${returning}` : ''}`;
    }

    const result = await runAsRole(ctx.db.adminPool, identity, async (client, control) => {
      if (returning !== null) {
        const rows = await aggregate(client, SqlBuilder.aggregate(sql, true), builder.params);
        // PostgREST rolls a mutation back when a singular response cannot be produced.
        if (singular && rows.n !== 1) control.rollback();
        return rows;
      }
      const outcome = await client.query(sql, builder.params);
      if (singular && outcome.rowCount !== 1) control.rollback();
      return { body: '', first: null, n: outcome.rowCount ?? 0 };
    });
    if (singular && result.n !== 1) throw singularityError(result.n);
    const status = method === 'POST' ? 201 : wantsRows ? 200 : 204;
    void reply
      .status(status)
      .header(
        'Content-Range',
        method === 'POST' ? '*/*' : contentRange(0, result.n, prefs.count ? result.n : undefined),
      );
    if (wantsRows) {
      void reply.header('Content-Type', jsonType).header('Preference-Applied', 'return=representation');
      return void reply.send(singular ? result.first : result.body);
    }
    return void reply.send();
  } catch (error) {
    if (error instanceof GatewayAuthError) {
      if (error.errorCode !== null) void reply.header('sb-error-code', error.errorCode);
      return void reply
        .status(401)
        .header('Content-Type', 'application/json; charset=utf-8')
        .send(error.toBody());
    }
    const failure = fromDatabaseError(error, caller?.role ?? 'anon');
    if (failure.status >= 500) ctx.logger.error('rest request failed', { error: failure.message });
    void reply.status(failure.status).header('Content-Type', 'application/json; charset=utf-8');
    for (const [name, value] of Object.entries(failure.headers)) void reply.header(name, value);
    return void reply.send(failure.toBody());
  }
}

/** Minimum spacing of schema reloads triggered by requests for unknown tables. */
const RELOAD_INTERVAL_MS = 1000;
const lastReload = new WeakMap<SchemaCache, number>();

/**
 * A table created after start (a test fixture, a later migration) becomes visible without a
 * restart: an unknown name reloads the cache, at most once per RELOAD_INTERVAL_MS.
 */
async function refreshedLookup(
  cache: SchemaCache,
  schema: string,
  name: string,
): Promise<TableInfo | undefined> {
  const now = performance.now();
  if (now - (lastReload.get(cache) ?? -Infinity) < RELOAD_INTERVAL_MS) return undefined;
  lastReload.set(cache, now);
  await cache.refresh();
  return cache.table(schema, name);
}

/** Registers /rest/v1/:table; the schema cache is read here and reloaded on unknown names. */
export async function createRestRoutes(app: FastifyInstance, ctx: TargetContext): Promise<SchemaCache> {
  const cache = await loadSchemaCache(ctx.db.adminPool, EXPOSED_SCHEMAS);
  app.route<{ Params: { table: string } }>({
    method: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
    url: '/rest/v1/:table',
    exposeHeadRoute: false,
    handler: (request, reply) => handle(request, reply, ctx, cache),
  });
  return cache;
}
