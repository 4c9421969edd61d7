import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { packagePath, PACKAGE_ROOT, resolveShippedFile } from './package-files.js';

const dirs: string[] = [];
function emptyDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-shipped-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('shipped files', () => {
  it('are found from the package root, which holds package.json and canary.yaml', () => {
    expect(fs.existsSync(path.join(PACKAGE_ROOT, 'package.json'))).toBe(true);
    expect(fs.existsSync(packagePath('canary.yaml'))).toBe(true);
  });

  it('replace a path that does not exist in the current directory with the package copy', () => {
    const cwd = emptyDir();
    expect(resolveShippedFile('canary.yaml', undefined, cwd)).toBe(packagePath('canary.yaml'));
    expect(resolveShippedFile('scenarios/smoke.yaml', 'scenarios', cwd)).toBe(
      packagePath('scenarios', 'smoke.yaml'),
    );
  });

  it('are looked up by bare name in their folder, with .yaml added', () => {
    const cwd = emptyDir();
    expect(resolveShippedFile('smoke', 'scenarios', cwd)).toBe(packagePath('scenarios', 'smoke.yaml'));
    expect(resolveShippedFile('peak.yaml', 'scenarios', cwd)).toBe(packagePath('scenarios', 'peak.yaml'));
  });

  it('never shadow a file the user has, and leave an unknown name as typed for the loader to report', () => {
    const cwd = emptyDir();
    fs.writeFileSync(path.join(cwd, 'canary.yaml'), 'version: canary/v1\n');
    expect(resolveShippedFile('canary.yaml', undefined, cwd)).toBe('canary.yaml');
    expect(resolveShippedFile('no-such-scenario', 'scenarios', cwd)).toBe('no-such-scenario');
    expect(resolveShippedFile('/abs/missing.yaml', 'scenarios', cwd)).toBe('/abs/missing.yaml');
  });
});
