/**
 * Runs every audit check on one read-only database session and renders the verdicts.
 * A check that throws is reported as a failure with the error, never silently skipped.
 */
import pg from 'pg';
import { CanaryError, ExitCode } from '../../shared/index.js';
import type { AuditCheck, AuditContext, CheckResult } from './audit-check.js';
import { broadcastChecks } from './broadcast-checks.js';
import { capacityChecks } from './capacity-checks.js';
import { realtimeChecks } from './realtime-checks.js';
import { schemaChecks } from './schema-checks.js';
import { ASSIGNMENTS_TABLE } from './expected-schema.js';

export const AUDIT_CHECKS: readonly AuditCheck[] = [
  ...schemaChecks,
  ...realtimeChecks,
  ...broadcastChecks,
  ...capacityChecks,
];

export interface AuditOptions {
  env: string;
  databaseUrl: string;
  schema?: string;
  table?: string;
  realtimeConnectionLimit?: number;
  plannedSubscribers?: number;
  realtimeConnections?: number;
  dbBroadcastTopic?: string;
  privateOnly?: boolean;
  /** Replication slot lag thresholds; defaults 64 MiB (warn) and 1 GiB (fail). */
  slotLagWarnBytes?: number;
  slotLagFailBytes?: number;
  checks?: readonly AuditCheck[];
}

export interface AuditReport {
  version: 'canary.audit/v1';
  env: string;
  generatedAt: string;
  summary: { pass: number; warn: number; fail: number };
  checks: CheckResult[];
}

export async function runAudit(options: AuditOptions): Promise<AuditReport> {
  const client = new pg.Client({
    connectionString: options.databaseUrl,
    application_name: 'realtime-canary-audit',
    // The audit must never change the target.
    options: '-c default_transaction_read_only=on',
    connectionTimeoutMillis: 10_000,
  });
  try {
    await client.connect();
  } catch (error) {
    throw new CanaryError(
      'TARGET_UNREACHABLE',
      `cannot connect to the database of ${options.env}: ${(error as Error).message}`,
      {
        hint: 'Check the database URL (host, port, password) and that this machine may connect; use the direct connection, not the pooler.',
        cause: error,
      },
    );
  }
  const ctx: AuditContext = {
    client,
    schema: options.schema ?? ASSIGNMENTS_TABLE.schema,
    table: options.table ?? ASSIGNMENTS_TABLE.table,
    slotLagWarnBytes:
      options.slotLagWarnBytes ?? Math.min(64 * 1024 * 1024, options.slotLagFailBytes ?? Infinity),
    slotLagFailBytes: options.slotLagFailBytes ?? 1024 * 1024 * 1024,
    ...(options.realtimeConnectionLimit === undefined
      ? {}
      : { realtimeConnectionLimit: options.realtimeConnectionLimit }),
    ...(options.plannedSubscribers === undefined ? {} : { plannedSubscribers: options.plannedSubscribers }),
    ...(options.realtimeConnections === undefined
      ? {}
      : { realtimeConnections: options.realtimeConnections }),
    ...(options.dbBroadcastTopic === undefined ? {} : { dbBroadcastTopic: options.dbBroadcastTopic }),
    ...(options.privateOnly === undefined ? {} : { privateOnly: options.privateOnly }),
  };
  const results: CheckResult[] = [];
  try {
    for (const check of options.checks ?? AUDIT_CHECKS) {
      try {
        const outcome = await check.run(ctx);
        results.push({ id: check.id, title: check.title, ...outcome });
      } catch (error) {
        await client.query('rollback').catch(() => undefined);
        results.push({
          id: check.id,
          title: check.title,
          status: 'fail',
          evidence: `the check could not run: ${(error as Error).message}`,
          fix: 'Audit with a role that can read the pg_catalog views (the postgres user of the direct connection).',
        });
      }
    }
  } finally {
    await client.end().catch(() => undefined);
  }
  const summary = { pass: 0, warn: 0, fail: 0 };
  for (const result of results) summary[result.status] += 1;
  return {
    version: 'canary.audit/v1',
    env: options.env,
    generatedAt: new Date().toISOString(),
    summary,
    checks: results,
  };
}

/** The report with more checks appended (the auth checks run over HTTP, after the database ones). */
export function withChecks(report: AuditReport, checks: readonly CheckResult[]): AuditReport {
  const all = [...report.checks, ...checks];
  const summary = { pass: 0, warn: 0, fail: 0 };
  for (const result of all) summary[result.status] += 1;
  return { ...report, summary, checks: all };
}

/** Like `canary slo`: 0 when nothing failed, 1 when a check failed. */
export function auditExitCode(report: AuditReport): number {
  return report.summary.fail > 0 ? ExitCode.SloBreached : ExitCode.Ok;
}
