/**
 * Smoke test of the subscriber and reconnect-storm benchmarks' harness at a tiny size: the target
 * process (plain and TLS), one client process per kind and transport, a socket floor, the
 * per-socket send stamp, the storm's drop and recount, and the JSON results all work end to end. No timing
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

interface SmokeFloor {
  floor: string;
  small?: { joined: number; resumed: number; connectCpuMicros: number };
  large?: { joined: number; resumed: number; connectCpuMicros: number };
  note?: string;
}

describe('subscriber benchmark harness', () => {
  it('holds every client kind on one channel over ws and wss and counts each stamped broadcast once per subscriber', () => {
    const jsonFile = path.join(workDir, 'results.json');
    const run = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'bench/subscribers.ts',
        '--kinds',
        'lean,realtime-js',
        '--transports',
        'ws,wss',
        '--floors',
        'tls-shared',
        '--small',
        '10',
        '--large',
        '20',
        '--deliveries-per-second',
        '200',
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
    const { results, floors } = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as {
      results: (SmokeResult & { transport: string })[];
      floors: SmokeFloor[];
    };
    expect(results.map((result) => `${result.kind} ${result.transport}`)).toEqual([
      'lean ws',
      'realtime-js ws',
      'lean wss',
      'realtime-js wss',
    ]);
    for (const result of results) {
      const label = `${result.kind} over ${result.transport}`;
      expect(result.note, label).toBeUndefined();
      expect(result.small?.joined, label).toBe(10);
      expect(result.large?.joined, label).toBe(20);
      // 200 deliveries/s over 20 subscribers is 10 broadcasts/s for 1 s.
      expect(result.broadcasts, label).toBe(10);
      expect(result.targetRecipients, label).toBe(200);
      expect(result.window?.deliveries, label).toBe(200);
      // First, at 2 subscribers: 100 broadcasts/s for 1 s.
      expect(result.lowFanout?.subscribers, label).toBe(2);
      expect(result.lowFanout?.broadcasts, label).toBe(100);
      expect(result.lowFanout?.window.deliveries, label).toBe(200);
      expect(result.window?.cpuMicros, label).toBeGreaterThan(0);
      // Receive − send on one machine-wide clock: never negative, and finite because every
      // delivery carried the target's per-socket stamp.
      expect(result.window?.latencyP50Ms, label).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(result.window?.latencyP99Ms), label).toBe(true);
    }
    expect(floors).toHaveLength(1);
    expect(floors[0]?.note).toBeUndefined();
    expect(floors[0]?.large?.joined).toBe(20);
    expect(floors[0]?.large?.connectCpuMicros).toBeGreaterThan(0);
    expect(run.stdout).toContain('| lean | wss | 20 / 20 |');
    expect(run.stdout).toContain('| tls-shared |');
  }, 180_000);

  it('drops every wss subscriber with the disconnect fault and counts them back, with every later broadcast delivered', () => {
    const jsonFile = path.join(workDir, 'storm.json');
    const run = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'bench/reconnect-storm.ts',
        '--subscribers',
        '20',
        '--transports',
        'wss',
        '--join-limits',
        'off',
        '--resumption',
        'on',
        '--timeout',
        '30',
        '--json',
        jsonFile,
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 110_000 },
    );
    expect(run.status, run.stderr).toBe(0);
    const { runs } = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as {
      runs: {
        transport: string;
        dropped: number;
        note?: string;
        result: {
          lost: number;
          back: number;
          handshakes: number;
          resumed: number;
          droppedAfterBack: number;
          expectedAfterBack: number;
          afterAllBack: number;
          afterAllBackComplete: number;
        };
      }[];
    };
    expect(runs).toHaveLength(1);
    const [storm] = runs;
    expect(storm?.note).toBeUndefined();
    expect(storm?.dropped).toBe(20);
    expect(storm?.result.lost).toBe(20);
    expect(storm?.result.back).toBe(20);
    // The transport cached a session before the drop, so the reconnects resume it.
    expect(storm?.result.handshakes).toBeGreaterThanOrEqual(20);
    expect(storm?.result.resumed).toBeGreaterThan(0);
    expect(storm?.result.expectedAfterBack).toBeGreaterThan(0);
    expect(storm?.result.droppedAfterBack).toBe(0);
    expect(storm?.result.afterAllBack).toBeGreaterThan(0);
    expect(storm?.result.afterAllBackComplete).toBe(storm?.result.afterAllBack);
  }, 120_000);
});
