/**
 * The shape every audit check shares: an id, what it verifies, and a verdict with evidence and
 * the fix (SQL or the dashboard step). Checks only read: the audit session is read-only.
 */
import type pg from 'pg';

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface CheckResult {
  id: string;
  title: string;
  status: CheckStatus;
  /** What was observed, in one or two sentences with the numbers. */
  evidence: string;
  /** What to do when status is warn/fail: SQL to run or a dashboard step. */
  fix?: string;
}

export interface AuditContext {
  /** A read-only client (default_transaction_read_only = on). */
  client: pg.ClientBase;
  schema: string;
  table: string;
  /** The environment's Realtime concurrent-connection limit from config, if known. */
  realtimeConnectionLimit?: number;
  /** Subscribers the environment's probes hold, to compare with the plan limit. */
  plannedSubscribers?: number;
  /** Live Realtime connection count, when the target can tell (local target admin stats). */
  realtimeConnections?: number;
  /** The db_broadcast topic template (`{mechanic}` = the mechanic's id); default `assignments`. */
  dbBroadcastTopic?: string;
  /** The project's "private channels only" setting, when the harness knows it (local target). */
  privateOnly?: boolean;
  /** Replication slot lag that warns / fails (bytes). */
  slotLagWarnBytes: number;
  slotLagFailBytes: number;
}

export interface AuditCheck {
  id: string;
  title: string;
  run(ctx: AuditContext): Promise<Omit<CheckResult, 'id' | 'title'>>;
}

export function qualified(ctx: AuditContext): string {
  return `${ctx.schema}.${ctx.table}`;
}
