import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CanaryError } from '../../shared/index.js';
import { MIGRATIONS_DIR, loadMigrations } from './migrations.js';
import {
  ASSIGNMENT_BROADCAST_TRIGGER,
  MESSAGES_SELECT_POLICY,
  REALTIME_PUBLICATION,
  REALTIME_SELECT_POLICY,
} from './realtime-policy.js';

const dirs: string[] = [];
function tempDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-migrations-'));
  dirs.push(dir);
  for (const [name, sql] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), sql);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('loadMigrations', () => {
  it('reads NNNN_name.sql files in version order', () => {
    const dir = tempDir({ '0002_b.sql': 'select 2;', '0001_a.sql': 'select 1;', 'notes.txt': 'ignored' });
    expect(loadMigrations(dir).map((migration) => [migration.version, migration.name])).toEqual([
      [1, 'a'],
      [2, 'b'],
    ]);
  });

  it('refuses a file name that is not NNNN_name.sql, saying how to rename it', () => {
    const dir = tempDir({ '1_a.sql': 'select 1;' });
    expect(() => loadMigrations(dir)).toThrow(CanaryError);
    expect(() => loadMigrations(dir)).toThrow(/1_a\.sql is not NNNN_name\.sql/);
  });

  it('refuses two files with the same version', () => {
    const dir = tempDir({ '0001_a.sql': 'select 1;', '0001_b.sql': 'select 2;' });
    expect(() => loadMigrations(dir)).toThrow(/share version 1/);
  });

  it('ships the repository migrations in a contiguous sequence', () => {
    const versions = loadMigrations(MIGRATIONS_DIR).map((migration) => migration.version);
    expect(versions).toEqual(versions.map((_, index) => index + 1));
  });
});

describe('the realtime policy and publication statements', () => {
  it('match the migrations verbatim, so fault injection restores exactly what was installed', () => {
    const sql = loadMigrations(MIGRATIONS_DIR)
      .map((migration) => migration.sql)
      .join('\n');
    expect(sql).toContain(REALTIME_SELECT_POLICY.create);
    expect(sql).toContain(REALTIME_PUBLICATION.addTable);
    expect(sql).toContain(MESSAGES_SELECT_POLICY.create);
    expect(sql).toContain(ASSIGNMENT_BROADCAST_TRIGGER.create('per_mechanic'));
  });
});
