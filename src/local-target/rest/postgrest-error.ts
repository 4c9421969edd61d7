/**
 * PostgREST's error body `{code, message, details, hint}` and its HTTP status rules, including
 * how Postgres SQLSTATEs map to statuses (a 42501 is 401 for anon, 403 for everyone else).
 */
export interface PostgrestErrorBody {
  code: string;
  message: string;
  details: string | null;
  hint: string | null;
}

export class PostgrestError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: string | null;
  readonly hint: string | null;
  /** Extra response headers (WWW-Authenticate on JWT failures). */
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    code: string,
    message: string,
    extra: { details?: string | null; hint?: string | null; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'PostgrestError';
    this.status = status;
    this.code = code;
    this.details = extra.details ?? null;
    this.hint = extra.hint ?? null;
    this.headers = extra.headers ?? {};
  }

  toBody(): PostgrestErrorBody {
    return { code: this.code, message: this.message, details: this.details, hint: this.hint };
  }
}

/** 400 PGRST100: a query string PostgREST could not parse. */
export function parseError(message: string, details: string | null = null): PostgrestError {
  return new PostgrestError(400, 'PGRST100', message, { details });
}

export function unknownTable(schema: string, table: string): PostgrestError {
  return new PostgrestError(
    404,
    'PGRST205',
    `Could not find the table '${schema}.${table}' in the schema cache`,
    {
      hint: null,
    },
  );
}

/** A column named in select / filter / order that the table does not have (Postgres' 42703). */
export function unknownColumn(table: string, column: string): PostgrestError {
  return new PostgrestError(400, '42703', `column ${table}.${column} does not exist`);
}

/** A body or `columns` key the table does not have. */
export function unknownBodyColumn(table: string, column: string): PostgrestError {
  return new PostgrestError(
    400,
    'PGRST204',
    `Could not find the '${column}' column of '${table}' in the schema cache`,
  );
}

export function singularityError(rows: number): PostgrestError {
  return new PostgrestError(406, 'PGRST116', 'Cannot coerce the result to a single JSON object', {
    details: `The result contains ${rows} rows`,
  });
}

interface DatabaseErrorLike {
  code?: string;
  message: string;
  detail?: string;
  hint?: string;
}

function isDatabaseError(error: unknown): error is DatabaseErrorLike {
  return (
    error instanceof Error && typeof (error as { code?: unknown }).code === 'string' && 'severity' in error
  );
}

/** PostgREST's SQLSTATE → HTTP table (src/PostgREST/Error.hs). */
export function statusForSqlState(code: string, role: string): number {
  if (code === '42501') return role === 'anon' ? 401 : 403;
  if (code === '23503' || code === '23505') return 409;
  if (code === 'P0001') return 400;
  if (code === '42883' || code === '42P01') return 404;
  if (code === '25006') return 405;
  const family = code.slice(0, 2);
  if (family === '08' || family === '53') return 503;
  if (family === '54') return 413;
  if (['09', '25', '2D', '38', '39', '3B', '40', '55', '57', '58', 'F0', 'HV', 'XX'].includes(family))
    return 500;
  if (family === '0L' || family === '0P' || family === '28') return 403;
  return 400;
}

export function fromDatabaseError(error: unknown, role: string): PostgrestError {
  if (error instanceof PostgrestError) return error;
  if (isDatabaseError(error) && error.code) {
    return new PostgrestError(statusForSqlState(error.code, role), error.code, error.message, {
      details: error.detail ?? null,
      hint: error.hint ?? null,
    });
  }
  return new PostgrestError(500, 'PGRST000', error instanceof Error ? error.message : String(error));
}
