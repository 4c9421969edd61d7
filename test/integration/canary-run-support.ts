/**
 * Driving `canary run` as a separate process: spawn it with JSON logs, find the exporter it
 * started, and read its metrics the way Prometheus would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { sleep } from '../../src/shared/index.js';

export const repoRoot = path.resolve(import.meta.dirname, '../..');

export interface CliRun {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
  /** Resolves with the exporter's base URL once it is logged. */
  exporterUrl: () => Promise<string>;
}

/** `canary <command> …args` with JSON logs; the caller kills it in afterAll (see `children`). */
export function spawnCanary(
  command: string,
  args: string[],
  env: Record<string, string> = {},
  children: ChildProcess[] = [],
): CliRun {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(repoRoot, 'src/cli/main.ts'), command, ...args],
    {
      cwd: repoRoot,
      env: { ...process.env, LOG_FORMAT: 'json', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => text,
    exit,
    exporterUrl: async () => {
      for (let i = 0; i < 600; i++) {
        const match = /"msg":"exporter listening"[^\n]*"url":"(http:\/\/[^"]+)"/.exec(text);
        if (match?.[1]) return match[1];
        if (child.exitCode !== null) break;
        await sleep(100);
      }
      throw new Error(`the exporter URL never appeared:\n${text}`);
    },
  };
}

export async function scrape(url: string): Promise<string> {
  const response = await fetch(`${url}/metrics`);
  return response.text();
}

/** Sum of every sample of `name` whose label set contains all `labels`. */
export function sampleSum(metrics: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+|NaN)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const labelText = match[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`)))
      total += Number(match[3]);
  }
  return total;
}
