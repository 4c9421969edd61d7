/**
 * `canary init`: writes a starter project into the current directory — canary.yaml (a local
 * target and the probe), environments/<name>.yaml (a remote Supabase project on the new API keys,
 * mechanics signing in with a password) and probes/waiver-to-mechanic.yaml (the shipped probe).
 * Refuses to overwrite an existing file unless --force.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { CanaryError, packagePath } from '../../shared/index.js';

interface InitFlags {
  env: string;
  supabaseUrl: string;
  dir: string;
  force?: boolean;
}

export interface StarterFile {
  /** Relative to the directory init writes into. */
  readonly path: string;
  readonly content: string;
}

const PROBE_PATH = 'probes/waiver-to-mechanic.yaml';
const ENV_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** `# yaml-language-server` line pointing at the package's JSON Schema, relative to the file. */
function schemaLine(dir: string, file: string, schema: string): string {
  const from = path.dirname(path.join(dir, file));
  const relative = path.relative(from, packagePath('schemas', schema)).split(path.sep).join('/');
  return `# yaml-language-server: $schema=${relative}`;
}

/** The starter files for an environment called `env` at `supabaseUrl`, as written into `dir`. */
export function starterFiles(dir: string, env: string, supabaseUrl: string): StarterFile[] {
  if (!ENV_NAME.test(env)) {
    throw new CanaryError('CLI_USAGE', `--env "${env}" is not a valid environment name`, {
      hint: 'use lowercase letters, digits, "-" or "_", e.g. --env prod-eu',
    });
  }
  if (!/^https?:\/\/[^\s]+$/.test(supabaseUrl)) {
    throw new CanaryError('CLI_USAGE', `--supabase-url "${supabaseUrl}" is not an http(s) URL`, {
      hint: 'give the project URL, e.g. --supabase-url https://abcd1234.supabase.co',
    });
  }
  const prefix = env.toUpperCase().replace(/-/g, '_');
  const envFile = `environments/${env}.yaml`;
  const canaryYaml = [
    schemaLine(dir, 'canary.yaml', 'canary.schema.json'),
    '# Realtime Canary: `canary run` in this directory reads this file. One local environment (an',
    '# embedded Supabase-compatible target, started in-process) and the waiver-to-mechanic probe.',
    `# The remote project is in ${envFile}: canary run --config ${envFile}`,
    'version: canary/v1',
    'environments:',
    '  - name: local',
    '    local: {}',
    '    labels: { tier: local }',
    'probes:',
    `  - file: ${PROBE_PATH}`,
    'server:',
    '  host: 127.0.0.1',
    '  port: 9464',
    '',
  ].join('\n');
  const environmentYaml = [
    schemaLine(dir, envFile, 'canary.schema.json'),
    `# The "${env}" Supabase project. Secrets are given by environment-variable NAME, never inline:`,
    `#   ${prefix}_SUPABASE_PUBLISHABLE_KEY (sb_publishable_…), ${prefix}_SUPABASE_SECRET_KEY (sb_secret_…),`,
    `#   ${prefix}_MECHANIC_1_EMAIL / _PASSWORD, ${prefix}_MECHANIC_2_EMAIL / _PASSWORD — create the two`,
    `#   accounts with: canary mechanics create --env ${env} --count 2 --config ${envFile}`,
    `#   ${prefix}_WAIVER_AUTHORIZATION (e.g. "Bearer <canary customer token>")`,
    `# Run: canary run --config ${envFile}`,
    'version: canary/v1',
    'environments:',
    `  - name: ${env}`,
    `    labels: { tier: ${env} }`,
    '    remote:',
    `      supabaseUrl: ${supabaseUrl}`,
    `      publishableKeyEnv: ${prefix}_SUPABASE_PUBLISHABLE_KEY # subscribers, pollers, Auth`,
    `      secretKeyEnv: ${prefix}_SUPABASE_SECRET_KEY # publishMode direct, cleanup, \`canary mechanics\``,
    '      waiverUrl: https://app.example.com/api/waiver',
    '      waiverHeadersEnv:',
    `        Authorization: ${prefix}_WAIVER_AUTHORIZATION`,
    '      queueUrl: https://app.example.com/api/mechanic/queue',
    '    mechanics:',
    '      from: password # synthetic mechanics sign in through Supabase Auth; sessions renew before expiry',
    '      accounts:',
    `        - { emailEnv: ${prefix}_MECHANIC_1_EMAIL, passwordEnv: ${prefix}_MECHANIC_1_PASSWORD }`,
    `        - { emailEnv: ${prefix}_MECHANIC_2_EMAIL, passwordEnv: ${prefix}_MECHANIC_2_PASSWORD }`,
    "    connectionLimit: 200 # your plan's Realtime connection limit",
    '    loadRateCap: 2 # `canary load --allow-remote` never publishes faster than this',
    'probes:',
    `  - file: ../${PROBE_PATH}`,
    '',
  ].join('\n');
  const shippedProbe = fs.readFileSync(packagePath(PROBE_PATH), 'utf8');
  const probeYaml = shippedProbe.replace(
    /^# yaml-language-server: .*$/m,
    schemaLine(dir, PROBE_PATH, 'probe.schema.json'),
  );
  return [
    { path: 'canary.yaml', content: canaryYaml },
    { path: envFile, content: environmentYaml },
    { path: PROBE_PATH, content: probeYaml },
  ];
}

export function register(program: Command): void {
  program
    .command('init')
    .description(
      'write a starter canary.yaml, an environment file for a remote project and a probe into the current directory',
    )
    .option('--env <name>', 'name of the remote environment', 'prod')
    .option('--supabase-url <url>', 'its project URL', 'https://your-project.supabase.co')
    .option('--dir <dir>', 'write here instead of the current directory', '.')
    .option('--force', 'overwrite files that already exist')
    .action((flags: InitFlags) => {
      const dir = path.resolve(flags.dir);
      const files = starterFiles(dir, flags.env, flags.supabaseUrl);
      const existing = files.filter((file) => fs.existsSync(path.join(dir, file.path)));
      if (existing.length > 0 && !flags.force) {
        throw new CanaryError('CLI_USAGE', `${existing.map((f) => f.path).join(', ')} already exist`, {
          hint: 'move them away, or pass --force to overwrite them',
        });
      }
      for (const file of files) {
        const target = path.join(dir, file.path);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.writeFileSync(target, file.content);
        process.stdout.write(`wrote ${file.path}\n`);
      }
      process.stdout.write(
        `next: canary run (local target), or set the variables named in environments/${flags.env}.yaml ` +
          `and run canary run --config environments/${flags.env}.yaml\n`,
      );
    });
}
