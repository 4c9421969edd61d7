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

describe('change payload', () => {
  it('carries only the columns the role may select, with values typed like Supabase does', () => {
    const change: DecodedChange = {
      relation: relation(['id']),
      type: 'INSERT',
      newTuple: ['42', '{"a":1}', 'hidden'],
      oldTuple: null,
      oldIsKeyOnly: false,
    };
    expect(buildChangePayload(change, at, access(['id', 'body']))).toEqual({
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
    const change: DecodedChange = {
      relation: relation(['id'], 'full'),
      type: 'UPDATE',
      newTuple: ['1', undefined, 'new'],
      oldTuple: ['1', '{"big":true}', 'old'],
      oldIsKeyOnly: false,
    };
    const payload = buildChangePayload(change, at, access(['id', 'body', 'secret']));
    expect(payload.record).toEqual({ id: 1, body: { big: true }, secret: 'new' });
    expect(payload.old_record).toEqual({ id: 1, body: { big: true }, secret: 'old' });
  });

  it('sends the key as old_record of an UPDATE under the default replica identity', () => {
    const change: DecodedChange = {
      relation: relation(['id']),
      type: 'UPDATE',
      newTuple: ['9', '{}', 's'],
      oldTuple: null,
      oldIsKeyOnly: false,
    };
    expect(buildChangePayload(change, at, access(['id', 'body'])).old_record).toEqual({ id: 9 });
  });

  it('answers a table without a primary key with Supabase’s error shape and no rows', () => {
    const change: DecodedChange = {
      relation: relation([]),
      type: 'INSERT',
      newTuple: ['1', '{}', 's'],
      oldTuple: null,
      oldIsKeyOnly: false,
    };
    expect(buildChangePayload(change, at, access(['id']))).toEqual({
      schema: 'public',
      table: 'jobs',
      type: 'INSERT',
      errors: ['Error 400: Bad Request, no primary key'],
    });
  });
});
