/**
 * Smoke test of the subscriber benchmark's harness at a tiny size: the target process, one client
 * process per kind, the per-socket send stamp and the JSON results all work end to end. No timing
 * is asserted here (speed and memory are the benchmark's business, on a quiet machine).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-bench-smoke-'));

afterAll(() => {
  fs.rmSync(workDir, { recursive: true, force: true });
});

interface SmokeResult {
  kind: string;
  small?: { joined: number; rssBytes: number };
  large?: { joined: number; rssBytes: number };
  window?: { deliveries: number; cpuMicros: number; latencyP50Ms: number; latencyP99Ms: number };
  broadcasts?: number;
  targetRecipients?: number;
  lowFanout?: { subscribers: number; broadcasts: number; window: { deliveries: number } };
  note?: string;
}

describe('subscriber benchmark harness', () => {
  it('holds every client kind on one channel and counts each stamped broadcast once per subscriber', () => {
    const jsonFile = path.join(workDir, 'results.json');
    const run = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'bench/subscribers.ts',
        '--kinds',
        'lean,naive-ws,realtime-js,supabase-js',
        '--small',
        '3',
        '--large',
        '6',
        '--deliveries-per-second',
        '60',
        '--seconds',
        '1',
        '--low-fanout',
        '2',
        '--json',
        jsonFile,
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 170_000 },
    );
    expect(run.status, run.stderr).toBe(0);
    const { results } = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as { results: SmokeResult[] };
    expect(results.map((result) => result.kind)).toEqual(['lean', 'naive-ws', 'realtime-js', 'supabase-js']);
    for (const result of results) {
      expect(result.note, result.kind).toBeUndefined();
      expect(result.small?.joined, result.kind).toBe(3);
      expect(result.large?.joined, result.kind).toBe(6);
      // 60 deliveries/s over 6 subscribers is 10 broadcasts/s for 1 s.
      expect(result.broadcasts, result.kind).toBe(10);
      expect(result.targetRecipients, result.kind).toBe(60);
      expect(result.window?.deliveries, result.kind).toBe(60);
      // First, at 2 subscribers: 30 broadcasts/s for 1 s.
      expect(result.lowFanout?.subscribers, result.kind).toBe(2);
      expect(result.lowFanout?.broadcasts, result.kind).toBe(30);
      expect(result.lowFanout?.window.deliveries, result.kind).toBe(60);
      expect(result.window?.cpuMicros, result.kind).toBeGreaterThan(0);
      // Receive − send on one machine-wide clock: never negative, and finite because every
      // delivery carried the target's per-socket stamp.
      expect(result.window?.latencyP50Ms, result.kind).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(result.window?.latencyP99Ms), result.kind).toBe(true);
    }
    expect(run.stdout).toContain('| lean | 6 / 6 |');
  }, 180_000);
});
