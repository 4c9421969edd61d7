import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');
const config = path.join(root, '.dependency-cruiser.cjs');
const depcruise = path.join(root, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const { ALLOWED } = createRequire(import.meta.url)(config) as { ALLOWED: Record<string, string[]> };

async function cruise(cwd: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [depcruise, 'src', '--config', config], {
      cwd,
    });
    return { code: 0, output: stdout };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

describe('import boundaries', () => {
  it('fail a tree where shared imports probe, naming the import, and pass the allowed ones', async () => {
    const { code, output } = await cruise(path.join(root, 'test/fixtures/boundaries'));
    expect(code).not.toBe(0);
    expect(output).toMatch(/not-in-allowed: src\/shared\/index\.ts → src\/probe\/index\.ts/);
    expect(output).toMatch(/1 dependency violations/);
  });

  it('are the same in the picture and the table of docs/ARCHITECTURE.md as in the checked allowlist', () => {
    const doc = fs.readFileSync(path.join(root, 'docs/ARCHITECTURE.md'), 'utf8');
    const expected = Object.fromEntries(
      Object.entries(ALLOWED).map(([area, others]) => [area, area === 'cli' ? ['every area'] : others]),
    );
    const picture: Record<string, string[]> = {};
    for (const match of doc.matchAll(/^ ([\w-]+)\/ .*──► (.*)$/gm)) {
      const [, area, imports] = match as unknown as [string, string, string];
      picture[area] = imports === 'nothing' ? [] : imports === 'every area' ? [imports] : imports.split(' ');
    }
    expect(picture).toEqual(expected);

    const section = doc.slice(doc.indexOf('## Import direction'), doc.indexOf('## Contracts'));
    const table: Record<string, string[]> = {};
    for (const match of section.matchAll(/^\|\s*`([\w-]+)`\s*\|(.*)\|\s*$/gm)) {
      const [, area, imports] = match as unknown as [string, string, string];
      const names = [...imports.matchAll(/`([\w-]+)`/g)].map((m) => m[1] as string);
      table[area] = area === 'cli' && imports.includes('every other area') ? ['every area'] : names;
    }
    expect(table).toEqual(expected);
  });
});
