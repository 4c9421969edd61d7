/**
 * Files the package ships (canary.yaml, probes/, scenarios/, slos/, migrations/, environments/,
 * schemas/), found from this module's own location — two folders up both as src/shared/ and as the
 * built dist/shared/ — so an installed `canary` finds them wherever it runs, never through the
 * current directory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The root of the package this code belongs to (the repository, or node_modules/realtime-canary). */
export const PACKAGE_ROOT: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** An absolute path inside the package, e.g. packagePath('scenarios', 'smoke.yaml'). */
export function packagePath(...parts: string[]): string {
  return path.join(PACKAGE_ROOT, ...parts);
}

/**
 * A file the user names on the command line: as given when it exists (relative paths from `cwd`);
 * otherwise the package's own copy — `scenarios/smoke.yaml` or just `smoke` (looked up in `folder`,
 * with `.yaml` added). Returns the path as given when neither exists, so the loader's "not found"
 * error names what the user typed.
 */
export function resolveShippedFile(given: string, folder?: string, cwd: string = process.cwd()): string {
  if (path.isAbsolute(given) || fs.existsSync(path.resolve(cwd, given))) return given;
  const candidates = [packagePath(given)];
  if (folder !== undefined && !given.includes('/')) {
    candidates.push(packagePath(folder, given), packagePath(folder, `${given}.yaml`));
  }
  return candidates.find((candidate) => fs.existsSync(candidate) && fs.statSync(candidate).isFile()) ?? given;
}
