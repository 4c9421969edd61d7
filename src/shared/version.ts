/**
 * The harness's own version, read from its package.json (two folders up from this file, both as
 * src/shared/version.ts and as the built dist/shared/version.js), so `canary --version`,
 * `canary_build_info` and reports say the installed version however the process was started
 * (npm sets npm_package_version only under `npm run`/`npm start`).
 */
import fs from 'node:fs';

function readPackageVersion(): string {
  try {
    const text = fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
    const version = (JSON.parse(text) as { version?: unknown }).version;
    return typeof version === 'string' && version !== '' ? version : 'unknown';
  } catch {
    return 'unknown';
  }
}

export const CANARY_VERSION: string = readPackageVersion();
