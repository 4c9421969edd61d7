import { describe, expect, it } from 'vitest';
import { PostgrestError } from './postgrest-error.js';
import { QueryParser, splitTopLevel } from './query-string.js';
import type { ColumnInfo, TableInfo } from './schema-cache.js';
import { SqlBuilder } from './sql-builder.js';

function column(name: string, type: string): [string, ColumnInfo] {
  return [name, { name, type, isJson: type === 'jsonb', hasDefault: false, nullable: true }];
}

const table: TableInfo = {
  schema: 'public',
  name: 'session_assignments',
  primaryKey: ['id'],
  columns: new Map([
    column('id', 'uuid'),
    column('status', 'text'),
    column('created_at', 'timestamp with time zone'),
    column('metadata', 'jsonb'),
  ]),
};

function parse(query: string) {
  return new QueryParser(table).parse(new URLSearchParams(query));
}

function failure(run: () => unknown): PostgrestError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(PostgrestError);
    return error as PostgrestError;
  }
  throw new Error('expected a PostgrestError');
}

describe('splitTopLevel', () => {
  it('splits on commas outside quotes and parentheses', () => {
    expect(splitTopLevel('a,"b,c",in.(1,2),d')).toEqual(['a', '"b,c"', 'in.(1,2)', 'd']);
  });

  it('refuses unbalanced parentheses as PGRST100', () => {
    expect(failure(() => splitTopLevel('a,(b')).code).toBe('PGRST100');
  });
});

describe('QueryParser', () => {
  it('parses columns, aliases, json paths and casts in select', () => {
    expect(parse('select=id,state:status,metadata->>canary_event_id,created_at::text').select).toEqual([
      { kind: 'column', ref: { column: 'id', path: [] }, alias: 'id', cast: undefined },
      { kind: 'column', ref: { column: 'status', path: [] }, alias: 'state', cast: undefined },
      {
        kind: 'column',
        ref: { column: 'metadata', path: [{ arrow: '->>', key: 'canary_event_id' }] },
        alias: 'canary_event_id',
        cast: undefined,
      },
      { kind: 'column', ref: { column: 'created_at', path: [] }, alias: 'created_at', cast: 'text' },
    ]);
  });

  it('parses filters with negation and quoted in-lists', () => {
    expect(parse('status=not.in.(queued,"a,b")').where).toEqual([
      {
        kind: 'filter',
        ref: { column: 'status', path: [] },
        negate: true,
        op: 'in',
        value: ['queued', 'a,b'],
      },
    ]);
  });

  it('parses or= with a nested and()', () => {
    const [condition] = parse('or=(status.eq.queued,and(status.eq.offered,created_at.gt.2026-01-01))').where;
    expect(condition).toMatchObject({ kind: 'logic', op: 'or', negate: false });
    expect(condition?.kind === 'logic' && condition.conditions[1]).toMatchObject({
      kind: 'logic',
      op: 'and',
    });
  });

  it('parses order terms with direction and nulls placement', () => {
    expect(parse('order=created_at.desc.nullslast,id').order).toEqual([
      { ref: { column: 'created_at', path: [] }, descending: true, nulls: 'last' },
      { ref: { column: 'id', path: [] }, descending: false, nulls: undefined },
    ]);
  });

  it('refuses unknown columns, operators, embeddings and bad limits before any SQL exists', () => {
    expect(failure(() => parse('select=nope')).code).toBe('42703');
    expect(failure(() => parse('status=approx.1')).code).toBe('PGRST100');
    expect(failure(() => parse('select=id,sessions(*)')).code).toBe('PGRST100');
    expect(failure(() => parse('limit=-1')).code).toBe('PGRST100');
    expect(failure(() => parse('select=status->>x')).code).toBe('PGRST100');
    expect(failure(() => parse('select=id::text;drop')).code).toBe('PGRST100');
  });
});

describe('SqlBuilder', () => {
  it('quotes every identifier and binds every value', () => {
    const query = parse(
      'select=id,metadata->>canary_event_id&status=eq.queued&metadata->>probe=like.wa*&order=created_at.desc&limit=5',
    );
    const builder = new SqlBuilder(table);
    const sql = builder.selectStatement(query);
    expect(sql).toContain('from "public"."session_assignments"');
    expect(sql).toContain('"status" = $');
    expect(sql).toContain('order by "created_at" desc');
    expect(sql).not.toContain('queued');
    expect(builder.params).toEqual(['canary_event_id', 'queued', 'probe', 'wa%', 5]);
  });
});
