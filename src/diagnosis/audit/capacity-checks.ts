/**
 * Connection headroom: database connections against max_connections (the seed's "60 connections
 * on the free tier" point) and Realtime connections against the plan limit.
 */
import type { AuditCheck } from './audit-check.js';
import { FREE_PLAN } from './expected-schema.js';

const WARN_RATIO = 0.7;
const FAIL_RATIO = 0.9;

export const databaseConnections: AuditCheck = {
  id: 'capacity.database_connections',
  title: 'database connections have headroom under max_connections',
  async run(ctx) {
    const { rows } = await ctx.client.query<{ used: string; max: string; reserved: string }>(
      `select (select count(*) from pg_stat_activity where backend_type = 'client backend')::text as used,
              current_setting('max_connections') as max,
              current_setting('superuser_reserved_connections') as reserved`,
    );
    const row = rows[0];
    const used = Number(row?.used ?? 0);
    const usable = Number(row?.max ?? 0) - Number(row?.reserved ?? 0);
    const ratio = usable > 0 ? used / usable : 1;
    const evidence = `${used} of ${usable} usable connections in use (${(ratio * 100).toFixed(0)} %; max_connections ${row?.max}, ${row?.reserved} reserved)`;
    const fix = `Use the pooler (Supavisor, port 6543) for app servers; the Free plan allows ${FREE_PLAN.databaseConnections} direct connections. Find holders: select usename, application_name, count(*) from pg_stat_activity group by 1, 2 order by 3 desc;`;
    if (ratio >= FAIL_RATIO) return { status: 'fail', evidence, fix };
    if (ratio >= WARN_RATIO) return { status: 'warn', evidence, fix };
    return { status: 'pass', evidence };
  },
};

export const realtimePlanLimits: AuditCheck = {
  id: 'capacity.realtime_connections',
  title: 'Realtime connections have headroom under the plan limit',
  async run(ctx) {
    const limit = ctx.realtimeConnectionLimit;
    if (limit === undefined) {
      return {
        status: 'warn',
        evidence: 'the environment declares no Realtime connection limit',
        fix: `Set connectionLimit in the environment config (Free plan: ${FREE_PLAN.realtimeConnections} concurrent connections; see Dashboard → Project Settings → Realtime).`,
      };
    }
    const inUse = ctx.realtimeConnections;
    const planned = ctx.plannedSubscribers ?? 0;
    const basis = inUse ?? planned;
    const ratio = limit > 0 ? basis / limit : 1;
    const evidence =
      inUse === undefined
        ? `the canary's probes hold ${planned} subscribers against a plan limit of ${limit} (${(ratio * 100).toFixed(0)} %); live count not available`
        : `${inUse} Realtime connections open against a plan limit of ${limit} (${(ratio * 100).toFixed(0)} %); the canary holds ${planned}`;
    const fix =
      'Above the limit new clients are refused with "Too many connected users" (429) and show CHANNEL_ERROR: raise the plan limit or share one socket per dashboard tab.';
    if (ratio >= FAIL_RATIO) return { status: 'fail', evidence, fix };
    if (ratio >= WARN_RATIO) return { status: 'warn', evidence, fix };
    return { status: 'pass', evidence };
  },
};

export const capacityChecks: readonly AuditCheck[] = [databaseConnections, realtimePlanLimits];
