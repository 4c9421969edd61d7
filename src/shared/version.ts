/**
 * The harness's own package metadata, read from its package.json (two folders up from this file,
 * both as src/shared/version.ts and as the built dist/shared/version.js), so `canary --version`,
 * `canary_build_info` and reports say the installed version however the process was started (npm
 * sets npm_package_version only under `npm run`/`npm start`), and generated links can point at the
 * repository's docs.
 */
import fs from 'node:fs';

interface PackageJson {
  version?: unknown;
  homepage?: unknown;
  repository?: unknown;
}

function readPackageJson(): PackageJson {
  try {
    return JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as PackageJson;
  } catch {
    return {};
  }
}

const packageJson = readPackageJson();

export const CANARY_VERSION: string =
  typeof packageJson.version === 'string' && packageJson.version !== '' ? packageJson.version : 'unknown';

/**
 * The repository's web address from package.json's `repository` (`git+https://…/x.git` →
 * `https://…/x`), or undefined when package.json names none.
 */
export function repositoryWebUrl(pkg: PackageJson = packageJson): string | undefined {
  const repository = pkg.repository;
  const raw =
    typeof repository === 'string'
      ? repository
      : typeof repository === 'object' && repository !== null && 'url' in repository
        ? String((repository as { url: unknown }).url)
        : undefined;
  if (!raw) return undefined;
  const web = raw
    .replace(/^git\+/, '')
    .replace(/\.git$/, '')
    .replace(/^git:\/\//, 'https://');
  return /^https?:\/\//.test(web) ? web : undefined;
}
