/** docs/errors.md and src/shared (error codes, exit codes) say the same thing. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, ExitCode } from '../../src/shared/index.js';
import { repoRoot } from './load-support.js';

const doc = fs.readFileSync(path.join(repoRoot, 'docs/errors.md'), 'utf8');

/** Rows of the Markdown table under `## <heading>`, as trimmed cells. */
function tableRows(heading: string): string[][] {
  const section = doc.split(/^## /m).find((part) => part.startsWith(heading));
  if (!section) throw new Error(`docs/errors.md has no "## ${heading}" section`);
  return section
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2) // header and separator
    .map((line) =>
      line
        .slice(1, -1)
        .split(' | ')
        .map((cell) => cell.trim()),
    );
}

const unquote = (cell: string | undefined): string => (cell ?? '').replace(/`/g, '');

describe('docs/errors.md', () => {
  it('lists every error code once, with its exit code and summary, and nothing else', () => {
    const rows = tableRows('Error codes');
    const documented = rows.map((row) => unquote(row[0]));
    expect(documented).toEqual(Object.keys(ErrorCodes));
    for (const row of rows) {
      const code = unquote(row[0]) as keyof typeof ErrorCodes;
      expect(Number(row[1]), code).toBe(ErrorCodes[code].exit);
      expect(row[2], code).toBe(ErrorCodes[code].summary);
      expect(row[3]?.length ?? 0, `${code} needs a "what to do"`).toBeGreaterThan(10);
    }
  });

  it('lists every exit code with its name', () => {
    const rows = tableRows('Exit codes');
    expect(rows.map((row) => [Number(row[0]), unquote(row[1])])).toEqual(
      Object.entries(ExitCode).map(([name, value]) => [value, name]),
    );
  });
});
