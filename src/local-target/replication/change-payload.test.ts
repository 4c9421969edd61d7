import { describe, expect, it } from 'vitest';
import { buildChangePayload, type DecodedChange } from './change-payload.js';
import { relationInfo, type RelationInfo } from './relation-cache.js';
import type { TableAccess } from './row-visibility.js';

function relation(primaryKey: string[], replicaIdentity: 'default' | 'full' = 'default'): RelationInfo {
  return relationInfo(
    {
      tag: 'relation',
      relationOid: 1,
      schema: 'public',
      table: 'jobs',
      replicaIdentity,
      columns: [
        { name: 'id', typeOid: 20, isKey: replicaIdentity === 'full' || primaryKey.includes('id') },
        { name: 'body', typeOid: 114, isKey: replicaIdentity === 'full' },
        { name: 'secret', typeOid: 25, isKey: replicaIdentity === 'full' },
      ],
    },
    (oid) => ({ name: oid === 20 ? 'int8' : oid === 114 ? 'json' : 'text', elementName: null }),
    primaryKey,
  );
}

const access = (columns: string[], rlsEnabled = false): TableAccess => ({
  roleExists: true,
  rlsEnabled,
  selectableColumns: new Set(columns),
});
const at = '2026-12-03T12:00:00.000Z';

function change(
  on: RelationInfo,
  type: DecodedChange['type'],
  newTuple: DecodedChange['newTuple'],
  oldTuple: DecodedChange['oldTuple'] = null,
): DecodedChange {
  return { relation: on, type, newTuple, oldTuple, oldIsKeyOnly: false };
}

describe('change payload', () => {
  it('carries only the columns the role may select, with values typed like Supabase does', () => {
    const decoded = change(relation(['id']), 'INSERT', ['42', '{"a":1}', 'hidden'], null);
    expect(buildChangePayload(decoded, at, access(['id', 'body']))).toEqual({
      schema: 'public',
      table: 'jobs',
      commit_timestamp: at,
      type: 'INSERT',
      columns: [
        { name: 'id', type: 'int8' },
        { name: 'body', type: 'json' },
      ],
      record: { id: 42, body: { a: 1 } },
      errors: null,
    });
  });

  it('fills an unchanged TOASTed value from the old row and sends the full old row under replica identity full', () => {
    const decoded = change(
      relation(['id'], 'full'),
      'UPDATE',
      ['1', undefined, 'new'],
      ['1', '{"big":true}', 'old'],
    );
    const payload = buildChangePayload(decoded, at, access(['id', 'body', 'secret']));
    expect(payload.record).toEqual({ id: 1, body: { big: true }, secret: 'new' });
    expect(payload.old_record).toEqual({ id: 1, body: { big: true }, secret: 'old' });
  });

  it('sends the key as old_record of an UPDATE under the default replica identity', () => {
    const decoded = change(relation(['id']), 'UPDATE', ['9', '{}', 's'], null);
    expect(buildChangePayload(decoded, at, access(['id', 'body'])).old_record).toEqual({ id: 9 });
  });

  it('answers a table without a primary key with Supabase’s error shape and no rows', () => {
    const decoded = change(relation([]), 'INSERT', ['1', '{}', 's'], null);
    expect(buildChangePayload(decoded, at, access(['id']))).toEqual({
      schema: 'public',
      table: 'jobs',
      type: 'INSERT',
      errors: ['Error 400: Bad Request, no primary key'],
    });
  });
});
