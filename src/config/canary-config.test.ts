import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CanaryError } from '../shared/index.js';
import { CLIENT_KINDS, DELIVERY_PATHS, PUBLISH_MODES } from '../metrics/index.js';
import {
  PROBE_CLIENT_KINDS,
  PROBE_PATHS,
  PROBE_PUBLISH_MODES,
  loadCanaryConfig,
  loadYamlFile,
  probesFor,
  resolveEnvironmentSecrets,
  selectEnvironments,
} from './index.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-config-'));
  dirs.push(dir);
  return dir;
}
function write(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}
function configError(fn: () => unknown): CanaryError {
  try {
    fn();
  } catch (error) {
    if (error instanceof CanaryError) return error;
    throw error;
  }
  throw new Error('expected a CanaryError');
}

afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('loadCanaryConfig', () => {
  it('loads the shipped canary.yaml with the local environment and the waiver-to-mechanic probe', () => {
    const config = loadCanaryConfig('canary.yaml');
    expect(config.environments.map((e) => e.name)).toEqual(['local']);
    expect(config.probes.map((p) => p.name)).toEqual(['waiver-to-mechanic']);
    const probe = config.probes[0]!;
    expect(probe.interval).toBe(5000);
    expect(probe.lateAfter).toBe(2000);
    expect(probe.deadline).toBe(10_000);
    expect(probe.paths).toEqual(['postgres_changes', 'broadcast', 'polling']);
    expect(config.server).toEqual({ host: '127.0.0.1', port: 9464 });
  });

  it('loads every shipped environment example', () => {
    for (const file of fs.readdirSync('environments')) {
      const config = loadCanaryConfig(path.join('environments', file), { checkProbeNeeds: true });
      expect(config.environments.length).toBeGreaterThan(0);
      expect(config.probes.length).toBe(1);
    }
    const multi = loadCanaryConfig('environments/local-dev-prod.yaml');
    expect(multi.environments.map((e) => e.name)).toEqual(['dev', 'prod']);
    expect(probesFor(multi, 'prod').map((p) => p.name)).toEqual(['waiver-to-mechanic']);
  });

  it('names the file, the key and a suggestion for a typo’d key', () => {
    const dir = tempDir();
    const file = write(
      dir,
      'canary.yaml',
      'version: canary/v1\nenvironments: [{name: local, local: {}}]\nprobes:\n  - name: p\n    intervl: 5s\n',
    );
    const error = configError(() => loadCanaryConfig(file));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain(
      `${file}: probes[0].intervl: unknown key "intervl" — did you mean "interval"?`,
    );
  });

  it('reports every problem in every file at once', () => {
    const dir = tempDir();
    write(dir, 'probes/bad.yaml', 'version: canary/v1\nname: bad\ndeadline: soon\npaths: [carrier_pigeon]\n');
    const file = write(
      dir,
      'canary.yaml',
      [
        'version: canary/v1',
        'environments:',
        '  - name: local',
        '    local: {}',
        '    connectionLimit: "many"',
        '  - name: Prod',
        '    remote: {supabaseUrl: not-a-url, anonKeyEnv: X}',
        'probes:',
        '  - file: probes/bad.yaml',
        'sever: {port: 1}',
      ].join('\n'),
    );
    const error = configError(() => loadCanaryConfig(file));
    const text = error.message;
    expect(text).toContain(`${file}: environments[0].connectionLimit:`);
    expect(text).toContain(`${file}: environments[1].name:`);
    expect(text).toContain(`${file}: environments[1].remote.supabaseUrl:`);
    expect(text).toContain(`${file}: sever: unknown key "sever" — did you mean "server"?`);
    expect(text).toContain(`${path.join(dir, 'probes/bad.yaml')}: deadline: "soon" is not a duration`);
    expect(text).toContain(`${path.join(dir, 'probes/bad.yaml')}: paths[0]:`);
    expect(text.split('\n').filter((l) => l.startsWith('  ')).length).toBeGreaterThanOrEqual(6);
  });

  it('rejects a wrong type and a missing version with fixes', () => {
    const dir = tempDir();
    const file = write(
      dir,
      'c.yaml',
      'environments: [{name: a, local: {}}]\nprobes: [{name: p, eventsPerRound: "two"}]\n',
    );
    const text = configError(() => loadCanaryConfig(file)).message;
    expect(text).toContain('c.yaml: version: write `version: canary/v1` as the first line');
    expect(text).toMatch(/c\.yaml: probes\[0\]\.eventsPerRound: .* — use a number here/);
  });

  it('rejects lateAfter not below deadline', () => {
    const dir = tempDir();
    const file = write(
      dir,
      'c.yaml',
      'version: canary/v1\nenvironments: [{name: a, local: {}}]\nprobes: [{name: p, lateAfter: 5s, deadline: 2s}]\n',
    );
    const text = configError(() => loadCanaryConfig(file)).message;
    expect(text).toContain('probes[0].lateAfter: lateAfter (5000 ms) must be below deadline (2000 ms)');
  });

  it('checks on request that remote environments have what each probe needs: waiver URL, service-role key, queue URL', () => {
    const dir = tempDir();
    const file = write(
      dir,
      'c.yaml',
      [
        'version: canary/v1',
        'environments:',
        '  - name: bare',
        '    remote: {supabaseUrl: "https://x.supabase.co", anonKeyEnv: A}',
        '    mechanics: {from: env, tokensEnv: [T]}',
        'probes:',
        '  - {name: via-app}',
        '  - {name: direct, publishMode: direct, paths: [broadcast]}',
      ].join('\n'),
    );
    expect(loadCanaryConfig(file).environments).toHaveLength(1);
    const text = configError(() => loadCanaryConfig(file, { checkProbeNeeds: true })).message;
    expect(text).toContain(
      `${file}: environments.bare.remote.waiverUrl: probe "via-app" publishes through the app`,
    );
    expect(text).toContain(
      `${file}: environments.bare.remote.queueUrl: probe "via-app" measures the polling path`,
    );
    expect(text).toContain(
      `${file}: environments.bare.remote.secretKeyEnv: probe "direct" publishes directly`,
    );
    expect(text).toContain(
      '— add remote.secretKeyEnv (or the legacy serviceRoleKeyEnv), or set publishMode: app_endpoint',
    );
  });

  it('reports YAML syntax errors with a line number', () => {
    const dir = tempDir();
    const file = write(dir, 'c.yaml', 'version: canary/v1\nenvironments: [\n  {name: a\n');
    const error = configError(() => loadCanaryConfig(file));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(/c\.yaml: line \d+, column \d+:/);
  });

  it('fails with CONFIG_NOT_FOUND for a missing file', () => {
    expect(configError(() => loadCanaryConfig('/nonexistent/canary.yaml')).code).toBe('CONFIG_NOT_FOUND');
  });

  it('validates local faults with the schema the caller passes, reported with the other issues', () => {
    const dir = tempDir();
    const file = write(
      dir,
      'c.yaml',
      'version: canary/v1\nenvironments: [{name: a, local: {faults: {broadcst: {delayMs: 1}}}}]\nprobes: [{name: p}]\n',
    );
    const faults = z.object({ broadcast: z.object({ delayMs: z.number() }).strict().optional() }).strict();
    const text = configError(() => loadCanaryConfig(file, { localFaultsSchema: faults })).message;
    expect(text).toContain(
      'environments[0].local.faults.broadcst: unknown key "broadcst" — did you mean "broadcast"?',
    );
  });

  it('rejects --env names that are not defined and filters by the ones that are', () => {
    const config = loadCanaryConfig('environments/local-dev-prod.yaml');
    expect(selectEnvironments(config, ['prod']).map((e) => e.name)).toEqual(['prod']);
    const error = configError(() => selectEnvironments(config, ['staging']));
    expect(error.code).toBe('CLI_USAGE');
    expect(error.hint).toContain('dev, prod');
  });
});

describe('resolveEnvironmentSecrets', () => {
  it('names every missing variable and the key that referenced it', () => {
    const config = loadCanaryConfig('environments/prod.yaml');
    const error = configError(() => resolveEnvironmentSecrets(config.environments[0]!, { env: {} }));
    expect(error.code).toBe('ENV_VAR_MISSING');
    expect(error.message).toContain(
      'PROD_SUPABASE_PUBLISHABLE_KEY (referenced by environments.prod.remote.publishableKeyEnv)',
    );
    expect(error.message).toContain(
      'PROD_MECHANIC_2_PASSWORD (referenced by environments.prod.mechanics.accounts[1].passwordEnv)',
    );
    expect(error.message).toContain('PROD_WAIVER_AUTHORIZATION');
    expect(error.hint).toContain('export PROD_SUPABASE_PUBLISHABLE_KEY');
  });

  const prodEnv = {
    PROD_SUPABASE_PUBLISHABLE_KEY: 'sb_publishable_publishable-value',
    PROD_SUPABASE_SECRET_KEY: 'sb_secret_secret-value',
    PROD_MECHANIC_1_EMAIL: 'one@example.com',
    PROD_MECHANIC_1_PASSWORD: 'password-one-value',
    PROD_MECHANIC_2_EMAIL: 'two@example.com',
    PROD_MECHANIC_2_PASSWORD: 'password-two-value',
    PROD_WAIVER_AUTHORIZATION: 'Bearer waiver-value',
  };

  it('resolves secrets that never print their value', async () => {
    const config = loadCanaryConfig('environments/prod.yaml');
    const resolved = resolveEnvironmentSecrets(config.environments[0]!, { env: prodEnv });
    expect(resolved.secrets.serviceRoleKey?.reveal()).toBe('sb_secret_secret-value');
    expect(resolved.secrets.anonKeyKind).toBe('publishable');
    expect(resolved.secrets.mechanicAccounts.map((a) => a.email.reveal())).toEqual([
      'one@example.com',
      'two@example.com',
    ]);
    const printed = [
      JSON.stringify(resolved),
      String(resolved.secrets.serviceRoleKey),
      `${resolved.secrets.anonKey}`,
      (await import('node:util')).inspect(resolved, { depth: 10 }),
    ].join('\n');
    for (const value of Object.values(prodEnv)) expect(printed).not.toContain(value.replace('Bearer ', ''));
    expect(printed).toContain('[redacted]');
  });

  it('refuses a secret key where the publishable key belongs, naming the key, the variable and the fix', () => {
    const config = loadCanaryConfig('environments/prod.yaml');
    const env = { ...prodEnv, PROD_SUPABASE_PUBLISHABLE_KEY: 'sb_secret_oops' };
    const error = configError(() =>
      resolveEnvironmentSecrets(config.environments[0]!, { env, file: 'prod.yaml' }),
    );
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain(
      'prod.yaml: environments.prod.remote.publishableKeyEnv: PROD_SUPABASE_PUBLISHABLE_KEY holds a secret key (sb_secret_…) where the publishable key belongs',
    );
    expect(error.message).not.toContain('sb_secret_oops');
  });

  it('tells a legacy JWT in publishableKeyEnv or a publishable key in secretKeyEnv apart', () => {
    const config = loadCanaryConfig('environments/prod.yaml');
    const legacyJwt = `x.${Buffer.from(JSON.stringify({ role: 'anon' })).toString('base64url')}.y`;
    const env = {
      ...prodEnv,
      PROD_SUPABASE_PUBLISHABLE_KEY: legacyJwt,
      PROD_SUPABASE_SECRET_KEY: 'sb_publishable_wrong-place',
    };
    const text = configError(() => resolveEnvironmentSecrets(config.environments[0]!, { env })).message;
    expect(text).toContain('holds a legacy JWT key (role anon), not a publishable key — use anonKeyEnv');
    expect(text).toContain(
      'secretKeyEnv: PROD_SUPABASE_SECRET_KEY holds a publishable key where the secret key belongs',
    );
  });

  it('needs exactly one client key: publishableKeyEnv or the legacy anonKeyEnv', () => {
    const dir = tempDir();
    const both = write(
      dir,
      'both.yaml',
      [
        'version: canary/v1',
        'environments:',
        '  - name: both',
        '    remote: {supabaseUrl: "https://x.supabase.co", publishableKeyEnv: A, anonKeyEnv: B}',
        '    mechanics: {from: env, tokensEnv: [T]}',
        '  - name: none',
        '    remote: {supabaseUrl: "https://x.supabase.co"}',
        '    mechanics: {from: env, tokensEnv: [T]}',
      ].join('\n'),
    );
    const text = configError(() => loadCanaryConfig(both)).message;
    expect(text).toContain(
      'environments[0].remote.anonKeyEnv: give either publishableKeyEnv (new keys) or anonKeyEnv (legacy), not both',
    );
    expect(text).toContain('environments[1].remote.publishableKeyEnv: missing the client key');
  });
});

describe('loadYamlFile', () => {
  it('validates any versioned spec file with the caller’s schema', () => {
    const dir = tempDir();
    const schema = z.object({ version: z.literal('canary/v1'), objective: z.number().max(1) }).strict();
    const good = write(dir, 'good.yaml', 'version: canary/v1\nobjective: 0.99\n');
    expect(loadYamlFile(good, schema)).toEqual({ version: 'canary/v1', objective: 0.99 });
    const bad = write(dir, 'bad.yaml', 'version: canary/v1\nobjectve: 2\n');
    const text = configError(() => loadYamlFile(bad, schema)).message;
    expect(text).toContain(`${bad}: objectve: unknown key "objectve" — did you mean "objective"?`);
    expect(text).toContain(`${bad}: objective:`);
  });
});

describe('constants shared with the metric catalogue', () => {
  it('lists the same paths, client kinds and publish modes as src/metrics', () => {
    expect([...PROBE_PATHS]).toEqual([...DELIVERY_PATHS]);
    expect([...PROBE_CLIENT_KINDS].sort()).toEqual([...CLIENT_KINDS].sort());
    expect([...PROBE_PUBLISH_MODES]).toEqual([...PUBLISH_MODES]);
  });
});

describe('the shipped environment examples', () => {
  it.each(['environments/dev.yaml', 'environments/prod.yaml', 'environments/supabase-local.yaml'])(
    '%s uses the new publishable and secret keys and password mechanics',
    (file) => {
      const [env] = loadCanaryConfig(file, { checkProbeNeeds: true }).environments;
      expect(env?.remote?.publishableKeyEnv).toBeDefined();
      expect(env?.remote?.secretKeyEnv).toBeDefined();
      expect(env?.mechanics?.from).toBe('password');
    },
  );

  it('reads the variable names `supabase status -o env` prints for a Supabase CLI stack', () => {
    const [env] = loadCanaryConfig('environments/supabase-local.yaml').environments;
    expect(env?.remote).toMatchObject({
      supabaseUrl: 'http://127.0.0.1:54321',
      publishableKeyEnv: 'PUBLISHABLE_KEY',
      secretKeyEnv: 'SECRET_KEY',
    });
  });
});
