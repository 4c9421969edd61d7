/**
 * The shipped smoke scenario through a real `artillery run`: the engine package and the core are
 * built into a private temp directory, Artillery (installed by .ci/run into node_modules/.artillery,
 * or wherever ARTILLERY_PREFIX says) runs packages/artillery-engine-canary/examples/smoke.yml
 * against a local target, and the assertions read Artillery's own JSON report.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startTarget, type LocalTarget } from '../../src/local-target/index.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const enginePackage = path.join(repo, 'packages', 'artillery-engine-canary');
const prefix = process.env.ARTILLERY_PREFIX ?? path.join(repo, 'node_modules', '.artillery');
const artilleryBin = path.join(prefix, 'node_modules', 'artillery', 'bin', 'run');
const haveArtillery = fs.existsSync(artilleryBin);
const RUN_TIMEOUT_MS = 180_000;

interface ArtilleryReport {
  aggregate: {
    counters: Record<string, number>;
    summaries: Record<string, { count: number; min: number; max: number; p95: number }>;
  };
}

/** The core (tsc) and the engine (its build script) into `dir`, wired so Artillery can load them. */
function buildInto(dir: string): { nodePath: string; coreDist: string } {
  // Core output needs "type": "module" and the project's dependencies in scope.
  fs.writeFileSync(path.join(dir, 'package.json'), '{ "type": "module", "private": true }\n');
  fs.symlinkSync(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  const coreDist = path.join(dir, 'core');
  const tsc = spawnSync(
    process.execPath,
    [
      path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      path.join(repo, 'tsconfig.build.json'),
      '--outDir',
      coreDist,
      '--sourceMap',
      'false',
    ],
    { cwd: repo, encoding: 'utf8', timeout: 300_000 },
  );
  const needed = ['probe', 'realtime', 'shared'].map((area) => path.join(coreDist, area, 'index.js'));
  // tsc still emits when a file elsewhere has a type error; the engine needs only these three areas.
  if (!needed.every((file) => fs.existsSync(file))) {
    throw new Error(`building the core failed (${tsc.status}): ${tsc.stdout}${tsc.stderr}`);
  }
  const engines = path.join(dir, 'engines');
  const engineCopy = path.join(engines, 'artillery-engine-canary');
  fs.mkdirSync(engineCopy, { recursive: true });
  for (const file of ['package.json', 'index.cjs']) {
    fs.copyFileSync(path.join(enginePackage, file), path.join(engineCopy, file));
  }
  const build = spawnSync(
    process.execPath,
    [path.join(enginePackage, 'build.mjs'), '--out-dir', path.join(engineCopy, 'dist')],
    { cwd: repo, encoding: 'utf8', timeout: 120_000 },
  );
  if (build.status !== 0) throw new Error(`building the engine failed: ${build.stdout}${build.stderr}`);
  return { nodePath: engines, coreDist };
}

function runArtillery(
  dir: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; output: string; report: string }> {
  const report = path.join(dir, 'report.json');
  const log = path.join(dir, 'artillery.log');
  const out = fs.openSync(log, 'w');
  const child = spawn(
    process.execPath,
    [artilleryBin, 'run', '--output', report, path.join(enginePackage, 'examples', 'smoke.yml')],
    { cwd: dir, env, detached: true, stdio: ['ignore', out, out] },
  );
  fs.closeSync(out);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      // Whole process group: Artillery runs its virtual users in worker threads/processes.
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, RUN_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output: fs.readFileSync(log, 'utf8'), report });
    });
  });
}

describe('artillery run with engine: canary', () => {
  if (!haveArtillery) {
    if (process.env.CI === 'true') {
      it('needs Artillery installed under CI', () => {
        throw new Error(
          `artillery is required under CI=true but ${artilleryBin} is missing: ` +
            'PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix node_modules/.artillery artillery@2.0.21 (see .ci/run)',
        );
      });
    } else {
      it.skip('runs the smoke scenario (Artillery is not installed; see docs/artillery.md)', () => undefined);
    }
    return;
  }

  let target: LocalTarget | undefined;
  let dir: string | undefined;

  afterAll(async () => {
    await target?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('runs the smoke scenario and its report counts deliveries on both paths with balanced books', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-artillery-smoke-'));
    const built = buildInto(dir);
    target = await startTarget({});
    const mechanic = await target.createMechanic({ name: 'artillery-smoke-mechanic' });

    const run = await runArtillery(dir, {
      PATH: process.env.PATH,
      HOME: dir,
      NODE_PATH: built.nodePath,
      CANARY_CORE_DIST: built.coreDist,
      ARTILLERY_DISABLE_TELEMETRY: 'true',
      DO_NOT_TRACK: '1',
      SUPABASE_URL: target.url,
      SUPABASE_ANON_KEY: target.anonKey,
      SUPABASE_SERVICE_ROLE_KEY: target.serviceRoleKey,
      MECHANIC_TOKEN: mechanic.token,
      CANARY_BROADCAST_CHANNEL: target.broadcastChannel,
    });
    expect(run.code, run.output).toBe(0);
    expect(run.output).not.toMatch(/could not be loaded/);
    const report = JSON.parse(fs.readFileSync(run.report, 'utf8')) as ArtilleryReport;
    const counters = report.aggregate.counters;
    const count = (name: string): number => counters[name] ?? 0;

    // examples/smoke.yml: 2 arrivals/s for 2 s, one publish per virtual user.
    expect(count('vusers.created')).toBe(4);
    expect(count('vusers.completed')).toBe(4);
    expect(count('vusers.failed')).toBe(0);
    expect(count('canary.subscribe.subscribed')).toBe(4);
    expect(count('canary.events.published')).toBe(4);
    for (const path of ['postgres_changes', 'broadcast']) {
      const due = count(`canary.${path}.due`);
      const delivered = count(`canary.${path}.delivered`);
      const late = count(`canary.${path}.late`);
      const dropped = count(`canary.${path}.dropped`);
      const withdrawn = count(`canary.${path}.withdrawn`);
      // Every user is subscribed when it publishes, so it is due at least its own event.
      expect(due, path).toBeGreaterThanOrEqual(4);
      expect(delivered + late + dropped + withdrawn, path).toBe(due);
      expect(delivered, path).toBeGreaterThan(0);
      const latency = report.aggregate.summaries[`canary.delivery.${path}`];
      expect(latency?.count, path).toBe(delivered + late);
      expect(latency?.min ?? -1, path).toBeGreaterThanOrEqual(0);
    }
  }, 600_000);
});
