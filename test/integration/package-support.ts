/**
 * Fixtures for the installed-package tests: a fresh tarball of this repository (built into a
 * private staging copy, so tests never touch the checkout's dist/), an empty directory it is
 * installed into with npm, and commands run there with a time limit.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot, tempDir } from './load-support.js';

/** What a checkout holds that is never part of a package build. */
const NOT_STAGED = new Set(['.git', 'node_modules', 'dist', 'artifacts', 'coverage']);

export interface PackedFile {
  path: string;
  size: number;
}

export interface PackResult {
  tarball: string;
  files: PackedFile[];
  /** Compressed size of the tarball in bytes. */
  size: number;
}

function npm(args: string[], cwd: string, timeoutMs: number): string {
  const result = spawnSync('npm', args, {
    cwd,
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false' },
  });
  if (result.status !== 0) {
    throw new Error(`npm ${args.join(' ')} failed (${result.status}): ${result.stdout}${result.stderr}`);
  }
  return result.stdout;
}

/**
 * `npm pack` of the package in `source` after its build: the sources are copied to a staging
 * directory, built there, and packed with the package's own `files` list. `build` is the command
 * that produces the build output in the staging copy.
 */
export function packFresh(
  source: string,
  into: string,
  build: (staging: string) => void,
  exclude: ReadonlySet<string> = NOT_STAGED,
): PackResult {
  const staging = path.join(into, 'staging');
  fs.cpSync(source, staging, {
    recursive: true,
    filter: (from) => !exclude.has(path.relative(source, from).split(path.sep)[0] ?? ''),
  });
  build(staging);
  const [report] = JSON.parse(
    npm(['pack', '--json', '--ignore-scripts', '--pack-destination', into], staging, 120_000),
  ) as {
    filename: string;
    size: number;
    files: PackedFile[];
  }[];
  if (!report) throw new Error('npm pack printed no report');
  return { tarball: path.join(into, report.filename), files: report.files, size: report.size };
}

/** The core package: tsc into the staging copy's dist/, using the checkout's dependencies. */
export function packCanary(into: string): PackResult {
  return packFresh(repoRoot, into, (staging) => {
    // Types and imports resolve from the checkout's dependencies; npm pack never packs node_modules.
    fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(staging, 'node_modules'), 'dir');
    const tsc = spawnSync(
      process.execPath,
      [
        path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'),
        '-p',
        path.join(staging, 'tsconfig.build.json'),
      ],
      { cwd: staging, encoding: 'utf8', timeout: 300_000 },
    );
    if (tsc.status !== 0) throw new Error(`building the package failed: ${tsc.stdout}${tsc.stderr}`);
  });
}

/** An empty project directory with `tarballs` installed from the files (dependencies from npm's cache or registry). */
export function installInto(prefix: string, tarballs: string[], extra: string[] = []): string {
  const dir = tempDir(prefix);
  fs.writeFileSync(path.join(dir, 'package.json'), '{ "private": true }\n');
  npm(
    ['install', ...tarballs, ...extra, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'],
    dir,
    400_000,
  );
  return dir;
}

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * `command args` in `cwd`, killed (its whole process group) after `timeoutMs`; `until` may end it
 * early with SIGINT once the output so far satisfies it (for commands that run until stopped).
 */
export function runIn(
  cwd: string,
  command: string,
  args: string[],
  options: { timeoutMs: number; env?: NodeJS.ProcessEnv; until?: (stdout: string) => boolean },
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, CI: 'true', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    const signal = (name: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, name);
      } catch {
        // Already gone.
      }
    };
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (!interrupted && options.until?.(stdout)) {
        interrupted = true;
        // Only the command itself, as Ctrl-C in a shell would; it stops its own children.
        child.kill('SIGINT');
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => signal('SIGKILL'), options.timeoutMs);
    child.on('error', reject);
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      resolve({ code, signal: sig, stdout, stderr });
    });
  });
}
