/**
 * Applies the plain-SQL migrations in `migrations/NNNN_name.sql`, in order, each in its own
 * transaction, recording each in `canary_migrations` so a kept database is only migrated forward.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { CanaryError } from '../../shared/index.js';

/** The repository's migrations folder (same depth from src/ and from the built dist/). */
export const MIGRATIONS_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../migrations',
);

const FILE_PATTERN = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export interface Migration {
  version: number;
  name: string;
  file: string;
  sql: string;
}

export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  if (!fs.existsSync(dir)) {
    throw new CanaryError('TARGET_START_FAILED', `migrations folder ${dir} does not exist`, {
      hint: 'run the target from an installed package or the repository root, which ship migrations/',
    });
  }
  const migrations = fs
    .readdirSync(dir)
    .filter((file) => file.endsWith('.sql'))
    .sort()
    .map((file) => {
      const match = FILE_PATTERN.exec(file);
      if (!match) {
        throw new CanaryError('TARGET_START_FAILED', `migration file name ${file} is not NNNN_name.sql`, {
          hint: 'rename it to four digits, an underscore and a lowercase snake_case name',
        });
      }
      return {
        version: Number(match[1]),
        name: match[2] ?? file,
        file,
        sql: fs.readFileSync(path.join(dir, file), 'utf8'),
      };
    });
  const seen = new Set<number>();
  for (const migration of migrations) {
    if (seen.has(migration.version)) {
      throw new CanaryError('TARGET_START_FAILED', `two migrations share version ${migration.version}`, {
        hint: 'give every file in migrations/ a distinct four-digit prefix',
      });
    }
    seen.add(migration.version);
  }
  return migrations;
}

/** Runs every migration not yet recorded; returns the files applied by this call. */
export async function applyMigrations(pool: pg.Pool, dir: string = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = loadMigrations(dir);
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query(`create table if not exists public.canary_migrations (
      version integer primary key,
      name text not null,
      applied_at timestamptz not null default now()
    )`);
    const done = new Set(
      (await client.query<{ version: number }>('select version from public.canary_migrations')).rows.map(
        (row) => row.version,
      ),
    );
    for (const migration of migrations) {
      if (done.has(migration.version)) continue;
      try {
        await client.query('begin');
        await client.query(migration.sql);
        await client.query('insert into public.canary_migrations (version, name) values ($1, $2)', [
          migration.version,
          migration.name,
        ]);
        await client.query('commit');
        applied.push(migration.file);
      } catch (error) {
        await client.query('rollback').catch(() => undefined);
        throw new CanaryError(
          'TARGET_START_FAILED',
          `migration ${migration.file} failed: ${(error as Error).message}`,
          {
            hint: 'fix the SQL in that file; nothing from it was applied',
            cause: error,
          },
        );
      }
    }
  } finally {
    client.release();
  }
  return applied;
}
