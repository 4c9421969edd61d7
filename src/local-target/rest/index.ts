/**
 * The local target's PostgREST subset at /rest/v1: the requests real supabase-js sends for
 * select / insert / update / delete, answered with PostgREST's statuses and error bodies. RLS is
 * enforced by Postgres: every request runs as the caller's role with its JWT claims.
 */
export { createRestRoutes } from './rest-routes.js';
export { PostgrestError, type PostgrestErrorBody } from './postgrest-error.js';
export type { SchemaCache, TableInfo, ColumnInfo } from './schema-cache.js';
