/**
 * What the production audit (the seed) established as correct for session_assignments: the
 * reference every audit check compares a live database against.
 */
export const ASSIGNMENTS_TABLE = { schema: 'public', table: 'session_assignments' } as const;

export interface ExpectedColumn {
  name: string;
  /** `format_type()` output, e.g. `uuid`, `timestamp with time zone`. */
  type: string;
  notNull: boolean;
  /** Substring the column default must contain; null = no default expected. */
  defaultContains: string | null;
}

export const EXPECTED_COLUMNS: readonly ExpectedColumn[] = [
  { name: 'id', type: 'uuid', notNull: true, defaultContains: 'gen_random_uuid()' },
  { name: 'session_id', type: 'uuid', notNull: true, defaultContains: null },
  { name: 'mechanic_id', type: 'uuid', notNull: false, defaultContains: null },
  { name: 'status', type: 'text', notNull: false, defaultContains: "'queued'" },
  { name: 'created_at', type: 'timestamp with time zone', notNull: true, defaultContains: 'now()' },
  { name: 'updated_at', type: 'timestamp with time zone', notNull: true, defaultContains: 'now()' },
  { name: 'offered_at', type: 'timestamp with time zone', notNull: false, defaultContains: null },
  { name: 'accepted_at', type: 'timestamp with time zone', notNull: false, defaultContains: null },
  { name: 'expired_at', type: 'timestamp with time zone', notNull: false, defaultContains: null },
  { name: 'metadata', type: 'jsonb', notNull: true, defaultContains: "'{}'::jsonb" },
];

export const EXPECTED_STATUS_VALUES = [
  'pending_waiver',
  'queued',
  'offered',
  'accepted',
  'declined',
  'expired',
  'cancelled',
  'completed',
] as const;

export const EXPECTED_INDEXED_COLUMNS = ['session_id', 'mechanic_id', 'status', 'created_at'] as const;

export interface ExpectedForeignKey {
  column: string;
  references: string;
  /** pg_constraint.confdeltype: c = CASCADE, n = SET NULL. */
  onDelete: 'c' | 'n';
  onDeleteSql: 'CASCADE' | 'SET NULL';
}

export const EXPECTED_FOREIGN_KEYS: readonly ExpectedForeignKey[] = [
  { column: 'session_id', references: 'sessions', onDelete: 'c', onDeleteSql: 'CASCADE' },
  { column: 'mechanic_id', references: 'mechanics', onDelete: 'n', onDeleteSql: 'SET NULL' },
];

export const REALTIME_PUBLICATION_NAME = 'supabase_realtime';

/** Supabase's Free plan: 60 direct database connections (the seed's point) and Realtime limits. */
export const FREE_PLAN = { databaseConnections: 60, realtimeConnections: 200 } as const;
