/**
 * The Artillery engine as users install it: fresh tarballs of realtime-canary and
 * artillery-engine-canary installed into an empty directory, and Artillery (installed by .ci/run
 * into node_modules/.artillery, or wherever ARTILLERY_PREFIX says) finding the engine there through
 * NODE_PATH — one smoke `artillery run` of the example the engine package ships, against a local
 * target on loopback. Nothing is loaded from the checkout's sources or build.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startTarget, type LocalTarget } from '../../src/local-target/index.js';
import { repoRoot, tempDir } from './load-support.js';
import { installInto, packCanary, packFresh } from './package-support.js';

const enginePackage = path.join(repoRoot, 'packages', 'artillery-engine-canary');
const prefix = process.env.ARTILLERY_PREFIX ?? path.join(repoRoot, 'node_modules', '.artillery');
const artilleryBin = path.join(prefix, 'node_modules', 'artillery', 'bin', 'run');
const haveArtillery = fs.existsSync(artilleryBin);
const RUN_TIMEOUT_MS = 180_000;

function runArtillery(
  cwd: string,
  scenario: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; output: string; report: string }> {
  const report = path.join(cwd, 'report.json');
  const log = path.join(cwd, 'artillery.log');
  const out = fs.openSync(log, 'w');
  const child = spawn(process.execPath, [artilleryBin, 'run', '--output', report, scenario], {
    cwd,
    env,
    detached: true,
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, RUN_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output: fs.readFileSync(log, 'utf8'), report });
    });
  });
}

describe('the artillery-engine-canary package, installed', () => {
  if (!haveArtillery) {
    if (process.env.CI === 'true') {
      it('needs Artillery installed under CI', () => {
        throw new Error(
          `artillery is required under CI=true but ${artilleryBin} is missing: ` +
            'PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix node_modules/.artillery artillery@2.0.21 (see .ci/run)',
        );
      });
    } else {
      it.skip('runs the shipped smoke example (Artillery is not installed; see docs/artillery.md)', () =>
        undefined);
    }
    return;
  }

  let target: LocalTarget | undefined;
  const dirs: string[] = [];

  afterAll(async () => {
    await target?.stop();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('runs its shipped smoke example with the installed core, delivering on both paths', async () => {
    const work = tempDir('engine-package');
    dirs.push(work);
    const core = packCanary(path.join(work, 'core'));
    const engine = packFresh(
      enginePackage,
      path.join(work, 'engine'),
      (staging) => {
        const build = spawnSync(
          process.execPath,
          [path.join(enginePackage, 'build.mjs'), '--out-dir', path.join(staging, 'dist')],
          { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 },
        );
        if (build.status !== 0) throw new Error(`building the engine failed: ${build.stdout}${build.stderr}`);
      },
      new Set(['dist', 'node_modules']),
    );
    expect(engine.files.map((f) => f.path).sort()).toEqual(
      expect.arrayContaining([
        'dist/index.js',
        'dist/core.js',
        'examples/smoke.yml',
        'index.cjs',
        'package.json',
      ]),
    );
    expect(engine.files.filter((f) => f.path.startsWith('src/'))).toEqual([]);
    const app = installInto('engine-app', [core.tarball, engine.tarball]);
    dirs.push(app);
    const installed = path.join(app, 'node_modules', 'artillery-engine-canary');
    expect(fs.existsSync(path.join(installed, 'dist', 'core.js'))).toBe(true);

    target = await startTarget({});
    const mechanic = await target.createMechanic({ name: 'engine-package-mechanic' });
    const run = await runArtillery(app, path.join(installed, 'examples', 'smoke.yml'), {
      PATH: process.env.PATH,
      HOME: app,
      NODE_PATH: path.join(app, 'node_modules'),
      ARTILLERY_DISABLE_TELEMETRY: 'true',
      DO_NOT_TRACK: '1',
      SUPABASE_URL: target.url,
      SUPABASE_ANON_KEY: target.anonKey,
      SUPABASE_SERVICE_ROLE_KEY: target.serviceRoleKey,
      MECHANIC_TOKEN: mechanic.token,
      CANARY_BROADCAST_CHANNEL: target.broadcastChannel,
    });
    expect(run.code, run.output).toBe(0);
    expect(run.output).not.toMatch(/could not be loaded|could not load Realtime Canary/);
    const report = JSON.parse(fs.readFileSync(run.report, 'utf8')) as {
      aggregate: { counters: Record<string, number> };
    };
    const count = (name: string): number => report.aggregate.counters[name] ?? 0;
    expect(count('vusers.created')).toBe(4);
    expect(count('vusers.failed')).toBe(0);
    expect(count('canary.events.published')).toBe(4);
    for (const deliveryPath of ['postgres_changes', 'broadcast']) {
      expect(count(`canary.${deliveryPath}.delivered`), deliveryPath).toBeGreaterThan(0);
    }
  }, 900_000);
});
