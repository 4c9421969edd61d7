/**
 * Runs work inside Postgres as an API caller, the way PostgREST does: one transaction with
 * `set local role <role>` and the verified claims in `request.jwt.claims`, so RLS policies and
 * grants decide what the caller sees — never TypeScript.
 */
import type pg from 'pg';

/** The roles a verified JWT may switch to (Supabase's API roles). */
export const API_ROLES = ['anon', 'authenticated', 'service_role'] as const;
export type ApiRole = (typeof API_ROLES)[number];

export function isApiRole(role: unknown): role is ApiRole {
  return typeof role === 'string' && (API_ROLES as readonly string[]).includes(role);
}

export interface RequestIdentity {
  role: ApiRole;
  claims: Record<string, unknown>;
  /** request.method / request.path, as PostgREST sets them. */
  method?: string;
  path?: string;
}

/**
 * `work` runs inside the transaction; throwing rolls it back. `rollback: true` rolls back even on
 * success (PostgREST's singular-response check after a mutation).
 */
export async function runAsRole<T>(
  pool: pg.Pool,
  identity: RequestIdentity,
  work: (client: pg.PoolClient, control: { rollback: () => void }) => Promise<T>,
): Promise<T> {
  if (!isApiRole(identity.role)) throw new Error(`refusing to switch to role ${String(identity.role)}`);
  const client = await pool.connect();
  let rollback = false;
  let broken = false;
  try {
    await client.query('begin');
    // The role is one of API_ROLES (checked above); quoting it as an identifier makes splicing safe.
    await client.query(`set local role ${client.escapeIdentifier(identity.role)}`);
    await client.query(
      `select set_config('request.jwt.claims', $1, true),
              set_config('request.method', $2, true),
              set_config('request.path', $3, true),
              set_config('statement_timeout', '15s', true)`,
      [JSON.stringify(identity.claims), identity.method ?? '', identity.path ?? ''],
    );
    const result = await work(client, { rollback: () => (rollback = true) });
    await client.query(rollback ? 'rollback' : 'commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch(() => {
      broken = true;
    });
    throw error;
  } finally {
    client.release(broken);
  }
}
