/**
 * Checks of the session_assignments table itself: existence, columns, status values, indexes,
 * foreign keys and the updated_at trigger — the seed's "Schema Audit" section, automated.
 */
import { qualified, type AuditCheck, type AuditContext } from './audit-check.js';
import {
  EXPECTED_COLUMNS,
  EXPECTED_FOREIGN_KEYS,
  EXPECTED_INDEXED_COLUMNS,
  EXPECTED_STATUS_VALUES,
} from './expected-schema.js';

async function tableOid(ctx: AuditContext): Promise<number | null> {
  const result = await ctx.client.query<{ oid: number | null }>(
    `select to_regclass(format('%I.%I', $1::text, $2::text))::oid as oid`,
    [ctx.schema, ctx.table],
  );
  return result.rows[0]?.oid ?? null;
}

const missingTable = (ctx: AuditContext) => ({
  status: 'fail' as const,
  evidence: `table ${qualified(ctx)} does not exist`,
  fix: 'Apply the session unification migration that creates session_assignments (20251104000001_session_unification.sql).',
});

export const tableExists: AuditCheck = {
  id: 'schema.table',
  title: 'session_assignments table exists',
  async run(ctx) {
    const oid = await tableOid(ctx);
    if (oid === null) return missingTable(ctx);
    return { status: 'pass', evidence: `${qualified(ctx)} exists (oid ${oid})` };
  },
};

export const columns: AuditCheck = {
  id: 'schema.columns',
  title: 'columns, types, nullability and defaults match the expected schema',
  async run(ctx) {
    const oid = await tableOid(ctx);
    if (oid === null) return missingTable(ctx);
    const { rows } = await ctx.client.query<{
      name: string;
      type: string;
      not_null: boolean;
      default: string | null;
    }>(
      `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as not_null,
              pg_get_expr(d.adbin, d.adrelid) as default
         from pg_attribute a
         left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
        where a.attrelid = $1 and a.attnum > 0 and not a.attisdropped`,
      [oid],
    );
    const byName = new Map(rows.map((row) => [row.name, row]));
    const problems: string[] = [];
    const fixes: string[] = [];
    for (const expected of EXPECTED_COLUMNS) {
      const actual = byName.get(expected.name);
      if (!actual) {
        problems.push(`${expected.name} missing`);
        fixes.push(
          `alter table ${qualified(ctx)} add column ${expected.name} ${expected.type}` +
            (expected.defaultContains ? ` default ${expected.defaultContains}` : '') +
            (expected.notNull ? ' not null' : '') +
            ';',
        );
        continue;
      }
      if (actual.type !== expected.type) {
        problems.push(`${expected.name} is ${actual.type}, expected ${expected.type}`);
        fixes.push(`alter table ${qualified(ctx)} alter column ${expected.name} type ${expected.type};`);
      }
      if (actual.not_null !== expected.notNull) {
        problems.push(
          `${expected.name} is ${actual.not_null ? 'NOT NULL' : 'nullable'}, expected ${expected.notNull ? 'NOT NULL' : 'nullable'}`,
        );
        fixes.push(
          `alter table ${qualified(ctx)} alter column ${expected.name} ${expected.notNull ? 'set' : 'drop'} not null;`,
        );
      }
      if (expected.defaultContains !== null && !(actual.default ?? '').includes(expected.defaultContains)) {
        problems.push(
          `${expected.name} default is ${actual.default ?? 'none'}, expected ${expected.defaultContains}`,
        );
        fixes.push(
          `alter table ${qualified(ctx)} alter column ${expected.name} set default ${expected.defaultContains};`,
        );
      }
    }
    if (problems.length > 0) return { status: 'fail', evidence: problems.join('; '), fix: fixes.join('\n') };
    return {
      status: 'pass',
      evidence: `all ${EXPECTED_COLUMNS.length} expected columns present with expected types and defaults`,
    };
  },
};

export const statusCheck: AuditCheck = {
  id: 'schema.status_check',
  title: "status CHECK constraint allows all 8 values (including 'pending_waiver' and 'completed')",
  async run(ctx) {
    const oid = await tableOid(ctx);
    if (oid === null) return missingTable(ctx);
    const { rows } = await ctx.client.query<{ name: string; def: string }>(
      `select conname as name, pg_get_constraintdef(oid) as def
         from pg_constraint where conrelid = $1 and contype = 'c'`,
      [oid],
    );
    const statusConstraints = rows.filter((row) => /\bstatus\b/.test(row.def));
    if (statusConstraints.length === 0) {
      return {
        status: 'warn',
        evidence: 'no CHECK constraint on status: any text is accepted',
        fix: statusFix(ctx),
      };
    }
    const missing = EXPECTED_STATUS_VALUES.filter(
      (value) => !statusConstraints.every((row) => row.def.includes(`'${value}'`)),
    );
    if (missing.length > 0) {
      return {
        status: 'fail',
        evidence: `status CHECK (${statusConstraints.map((r) => r.name).join(', ')}) rejects: ${missing.join(', ')} — inserts with those statuses fail with 23514`,
        fix: statusFix(
          ctx,
          statusConstraints.map((r) => r.name),
        ),
      };
    }
    return { status: 'pass', evidence: `status CHECK allows ${EXPECTED_STATUS_VALUES.join(', ')}` };
  },
};

function statusFix(ctx: AuditContext, existing: string[] = []): string {
  const drops = existing.map((name) => `alter table ${qualified(ctx)} drop constraint "${name}";`);
  const values = EXPECTED_STATUS_VALUES.map((v) => `'${v}'`).join(', ');
  return [
    ...drops,
    `alter table ${qualified(ctx)} add constraint session_assignments_status_check check (status in (${values}));`,
  ].join('\n');
}

export const indexes: AuditCheck = {
  id: 'schema.indexes',
  title: 'indexes on session_id, mechanic_id, status, created_at',
  async run(ctx) {
    const oid = await tableOid(ctx);
    if (oid === null) return missingTable(ctx);
    // The leading column of each index on the table.
    const { rows } = await ctx.client.query<{ column: string }>(
      `select a.attname as column
         from pg_index i
         join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
        where i.indrelid = $1`,
      [oid],
    );
    const leading = new Set(rows.map((row) => row.column));
    const missing = EXPECTED_INDEXED_COLUMNS.filter((column) => !leading.has(column));
    if (missing.length > 0) {
      return {
        status: 'warn',
        evidence: `no index leads with: ${missing.join(', ')} (queue queries and RLS checks scan the table)`,
        fix: missing.map((c) => `create index concurrently on ${qualified(ctx)} (${c});`).join('\n'),
      };
    }
    return { status: 'pass', evidence: `indexed: ${EXPECTED_INDEXED_COLUMNS.join(', ')}` };
  },
};

export const foreignKeys: AuditCheck = {
  id: 'schema.foreign_keys',
  title: 'foreign keys: session_id ON DELETE CASCADE, mechanic_id ON DELETE SET NULL',
  async run(ctx) {
    const oid = await tableOid(ctx);
    if (oid === null) return missingTable(ctx);
    const { rows } = await ctx.client.query<{
      name: string;
      column: string;
      references: string;
      on_delete: string;
    }>(
      `select c.conname as name, a.attname as column, c.confrelid::regclass::text as references,
              c.confdeltype as on_delete
         from pg_constraint c
         join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
        where c.conrelid = $1 and c.contype = 'f'`,
      [oid],
    );
    const problems: string[] = [];
    const fixes: string[] = [];
    for (const expected of EXPECTED_FOREIGN_KEYS) {
      const actual = rows.find((row) => row.column === expected.column);
      const references = `${ctx.schema}.${expected.references}`;
      const add = `alter table ${qualified(ctx)} add foreign key (${expected.column}) references ${references}(id) on delete ${expected.onDeleteSql};`;
      if (!actual) {
        problems.push(`${expected.column} has no foreign key`);
        fixes.push(add);
      } else if (actual.on_delete !== expected.onDelete) {
        problems.push(
          `${expected.column} → ${actual.references} has ON DELETE ${describeAction(actual.on_delete)}, expected ${expected.onDeleteSql}`,
        );
        fixes.push(`alter table ${qualified(ctx)} drop constraint "${actual.name}";\n${add}`);
      }
    }
    if (problems.length > 0) return { status: 'fail', evidence: problems.join('; '), fix: fixes.join('\n') };
    return {
      status: 'pass',
      evidence: 'session_id → sessions ON DELETE CASCADE; mechanic_id → mechanics ON DELETE SET NULL',
    };
  },
};

function describeAction(code: string): string {
  return { a: 'NO ACTION', r: 'RESTRICT', c: 'CASCADE', n: 'SET NULL', d: 'SET DEFAULT' }[code] ?? code;
}

export const updatedAtTrigger: AuditCheck = {
  id: 'schema.updated_at_trigger',
  title: 'a BEFORE UPDATE trigger keeps updated_at current',
  async run(ctx) {
    const oid = await tableOid(ctx);
    if (oid === null) return missingTable(ctx);
    const { rows } = await ctx.client.query<{ name: string; enabled: string; source: string }>(
      `select t.tgname as name, t.tgenabled as enabled, p.prosrc as source
         from pg_trigger t join pg_proc p on p.oid = t.tgfoid
        where t.tgrelid = $1 and not t.tgisinternal
          and (t.tgtype & 2) = 2   -- BEFORE
          and (t.tgtype & 16) = 16 -- UPDATE`,
      [oid],
    );
    const trigger = rows.find((row) => row.source.includes('updated_at'));
    if (!trigger) {
      return {
        status: 'warn',
        evidence: 'no BEFORE UPDATE trigger sets updated_at: it stays at the insert time',
        fix: `create trigger session_assignments_set_updated_at before update on ${qualified(ctx)} for each row execute function public.set_updated_at();`,
      };
    }
    if (trigger.enabled === 'D') {
      return {
        status: 'warn',
        evidence: `trigger ${trigger.name} exists but is disabled`,
        fix: `alter table ${qualified(ctx)} enable trigger "${trigger.name}";`,
      };
    }
    return { status: 'pass', evidence: `trigger ${trigger.name} sets updated_at before each update` };
  },
};

export const schemaChecks: readonly AuditCheck[] = [
  tableExists,
  columns,
  statusCheck,
  indexes,
  foreignKeys,
  updatedAtTrigger,
];
