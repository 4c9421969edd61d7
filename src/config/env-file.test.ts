import { describe, expect, it } from 'vitest';
import { loadEnvFile, parseEnvFile } from './env-file.js';

describe('env files', () => {
  it('read the KEY=value lines canary target prints, with comments, export and quotes', () => {
    const text = [
      '# printed by canary target',
      'SUPABASE_URL=http://127.0.0.1:54321',
      'SUPABASE_ANON_KEY=eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.c2ln',
      'export DATABASE_URL="postgres://u:p@127.0.0.1:5432/db?sslmode=disable"',
      "CANARY_ADMIN_TOKEN='abc def'",
      'MECHANIC_ID=42 # the first mechanic',
      '',
    ].join('\n');
    expect(parseEnvFile(text, '.env')).toEqual({
      SUPABASE_URL: 'http://127.0.0.1:54321',
      SUPABASE_ANON_KEY: 'eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.c2ln',
      DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db?sslmode=disable',
      CANARY_ADMIN_TOKEN: 'abc def',
      MECHANIC_ID: '42',
    });
  });

  it('name the file and line of a line that is not KEY=value', () => {
    expect(() => parseEnvFile('A=1\nnot a line\n', 'ci.env')).toThrow(
      'ci.env:2: "not a line" is not a KEY=value line',
    );
  });

  it('never override a variable the environment already has', () => {
    const env: NodeJS.ProcessEnv = { KEEP: 'from-ci' };
    const file = new URL('../../package.json', import.meta.url).pathname;
    expect(() => loadEnvFile(`${file}.missing`, env)).toThrow(
      `--env-file ${file}.missing: cannot read it (ENOENT)`,
    );
    expect(env).toEqual({ KEEP: 'from-ci' });
  });
});
