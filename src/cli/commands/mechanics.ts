/**
 * `canary mechanics create|delete --env <name>`: the synthetic mechanic accounts `mechanics.from:
 * password` signs in with. `create` makes confirmed users through the Auth admin API with the
 * environment's secret (or service_role) key, adds the matching `mechanics` rows the app's RLS
 * needs (id = user id), and prints the `KEY=value` lines and the config to paste. `delete` removes
 * every account the canary created (tagged in user_metadata), rows first. Progress goes to stderr,
 * the lines to stdout.
 */
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { AuthApi, AuthRequestError } from '../../auth/index.js';
import { environmentTransport } from '../../probe/index.js';
import {
  loadCanaryConfig,
  resolveEnvironmentSecrets,
  selectEnvironments,
  type EnvironmentConfig,
} from '../../config/index.js';
import { CanaryError } from '../../shared/index.js';
import { faultSettingsSchema } from '../../local-target/index.js';

interface MechanicsFlags {
  env: string;
  config: string;
  count?: string;
  prefix?: string;
  emailDomain: string;
  mechanicsTable: string;
  mechanicRows: boolean;
}

/** Marks accounts the canary made, so `delete` never touches a real user. */
export const SYNTHETIC_MARK = 'realtime_canary';
const MAX_ACCOUNTS = 1000;

export function register(program: Command): void {
  const mechanics = program
    .command('mechanics')
    .description('create or delete the synthetic mechanic accounts a remote environment signs in with');
  const common = (command: Command): Command =>
    command
      .requiredOption('--env <name>', 'remote environment (from the config)')
      .option('--config <file>', 'config file', 'canary.yaml')
      .option(
        '--mechanics-table <table>',
        "the app's mechanics table (rows get id = the user's id)",
        'mechanics',
      )
      .option('--no-mechanic-rows', 'do not create or delete rows in the mechanics table');
  common(mechanics.command('create'))
    .description('create N confirmed accounts and print their env lines and config')
    .requiredOption('--count <n>', `how many accounts (1–${MAX_ACCOUNTS})`)
    .option('--prefix <VAR>', 'env-var prefix of the printed lines (default <ENV>_MECHANIC)')
    .option('--email-domain <domain>', 'domain of the generated addresses', 'example.com')
    .action(async (flags: MechanicsFlags) => {
      process.exitCode = await create(flags);
    });
  common(mechanics.command('delete'))
    .description('delete every account `canary mechanics create` made in this environment')
    .option('--email-domain <domain>', 'unused by delete', 'example.com')
    .action(async (flags: MechanicsFlags) => {
      process.exitCode = await remove(flags);
    });
}

interface Admin {
  env: EnvironmentConfig;
  /** Over the environment's trust (tls.caFile). */
  fetch: typeof globalThis.fetch;
  auth: AuthApi;
  serverKey: string;
  serverKeyVariable: string;
  supabaseUrl: string;
}

function admin(flags: MechanicsFlags): Admin {
  const config = loadCanaryConfig(flags.config, { localFaultsSchema: faultSettingsSchema });
  const [env] = selectEnvironments(config, [flags.env]);
  if (!env) throw new CanaryError('CLI_USAGE', `--env ${flags.env}: not defined in ${flags.config}`);
  if (!env.remote) {
    throw new CanaryError('CLI_USAGE', `environment "${env.name}" is local: it creates its own mechanics`, {
      hint: 'use a remote environment; `canary target` prints the local mechanics it created',
    });
  }
  const file = config.sources.environments[env.name] ?? config.file;
  const serverKeyVariable = env.remote.secretKeyEnv ?? env.remote.serviceRoleKeyEnv;
  if (!serverKeyVariable) {
    throw new CanaryError('CLI_USAGE', `environment "${env.name}" has no secret key`, {
      hint: `add remote.secretKeyEnv (the sb_secret_… key) in ${file}: creating users needs the Auth admin API`,
    });
  }
  // Mechanic variables may not exist yet: this command is what creates them.
  const { secrets } = resolveEnvironmentSecrets({ ...env, mechanics: undefined }, { file });
  const serverKey = secrets.serviceRoleKey?.reveal();
  const clientKey = secrets.anonKey?.reveal();
  if (!serverKey || !clientKey) throw new CanaryError('INTERNAL', `environment "${env.name}" has no keys`);
  const supabaseUrl = env.remote.supabaseUrl.replace(/\/$/, '');
  const { transport } = environmentTransport(env, { file });
  return {
    env,
    fetch: transport.fetch,
    auth: new AuthApi({ supabaseUrl, apiKey: clientKey, fetch: transport.fetch }),
    serverKey,
    serverKeyVariable,
    supabaseUrl,
  };
}

function accountCount(value: string | undefined): number {
  const n = Number(value);
  if (!value || !/^\d+$/.test(value) || n < 1 || n > MAX_ACCOUNTS) {
    throw new CanaryError('CLI_USAGE', `--count ${JSON.stringify(value ?? '')} is not a count`, {
      hint: `use a whole number from 1 to ${MAX_ACCOUNTS}`,
    });
  }
  return n;
}

function authFailure(error: unknown, what: string, a: Admin): CanaryError {
  if (error instanceof CanaryError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const hint =
    error instanceof AuthRequestError && error.kind === 'rejected_key'
      ? `check that ${a.serverKeyVariable} holds this project's secret key`
      : error instanceof AuthRequestError && error.kind === 'network'
        ? 'check remote.supabaseUrl and the network'
        : 'see the message; nothing else was changed after this point';
  return new CanaryError('AUTH_FAILED', `${what}: ${message}`, { hint, cause: error });
}

async function rest(a: Admin, method: 'POST' | 'DELETE', path: string, body?: unknown): Promise<void> {
  const response = await a.fetch(`${a.supabaseUrl}/rest/v1/${path}`, {
    method,
    headers: {
      apikey: a.serverKey,
      ...(a.serverKey.startsWith('sb_') ? {} : { authorization: `Bearer ${a.serverKey}` }),
      'content-type': 'application/json',
      prefer: 'return=minimal',
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) {
    const text = (await response.text().catch(() => '')).slice(0, 300);
    throw new Error(`${method} /rest/v1/${path.split('?')[0]} answered ${response.status}: ${text}`);
  }
  await response.body?.cancel().catch(() => {});
}

async function create(flags: MechanicsFlags): Promise<number> {
  const count = accountCount(flags.count);
  const a = admin(flags);
  const prefix = (flags.prefix ?? `${a.env.name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_MECHANIC`).replace(
    /_+$/,
    '',
  );
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(prefix)) {
    throw new CanaryError('CLI_USAGE', `--prefix ${JSON.stringify(prefix)} is not an env-var name`, {
      hint: 'use letters, digits and underscores, e.g. PROD_MECHANIC',
    });
  }
  const lines: string[] = [];
  const accounts: string[] = [];
  for (let i = 1; i <= count; i++) {
    const email = `canary-mechanic-${randomBytes(5).toString('hex')}@${flags.emailDomain}`;
    const password = randomBytes(24).toString('base64url');
    const user = await a.auth
      .createUser(a.serverKey, {
        email,
        password,
        userMetadata: { [SYNTHETIC_MARK]: true, name: `Canary mechanic ${i}` },
      })
      .catch((error: unknown) => {
        throw authFailure(error, `creating account ${i} of ${count} failed`, a);
      });
    if (flags.mechanicRows) {
      await rest(a, 'POST', encodeURIComponent(flags.mechanicsTable), {
        id: user.id,
        name: `Canary mechanic ${i}`,
      }).catch((error: unknown) => {
        throw new CanaryError(
          'AUTH_FAILED',
          `user ${user.id} was created, but its ${flags.mechanicsTable} row was refused: ${(error as Error).message}`,
          {
            hint: `pass --mechanics-table <table>, or --no-mechanic-rows if the app needs none; \`canary mechanics delete --env ${a.env.name}\` removes the users made so far`,
          },
        );
      });
    }
    lines.push(`${prefix}_${i}_EMAIL=${email}`, `${prefix}_${i}_PASSWORD=${password}`);
    accounts.push(`        - { emailEnv: ${prefix}_${i}_EMAIL, passwordEnv: ${prefix}_${i}_PASSWORD }`);
    process.stderr.write(`created ${email} (${user.id})\n`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  process.stderr.write(
    `\nexport the lines above (they are secrets), then set in the "${a.env.name}" environment:\n` +
      `    mechanics:\n      from: password\n      accounts:\n${accounts.join('\n')}\n`,
  );
  return 0;
}

async function remove(flags: MechanicsFlags): Promise<number> {
  const a = admin(flags);
  const synthetic: { id: string; email: string | undefined }[] = [];
  for (let page = 1; page <= 1000; page++) {
    const users = await a.auth.listUsers(a.serverKey, page, 200).catch((error: unknown) => {
      throw authFailure(error, 'listing users failed', a);
    });
    for (const user of users) if (user.userMetadata[SYNTHETIC_MARK] === true) synthetic.push(user);
    if (users.length < 200) break;
  }
  for (const user of synthetic) {
    if (flags.mechanicRows) {
      await rest(a, 'DELETE', `${encodeURIComponent(flags.mechanicsTable)}?id=eq.${user.id}`).catch(
        (error: unknown) => {
          process.stderr.write(
            `could not delete the ${flags.mechanicsTable} row of ${user.id}: ${(error as Error).message}\n`,
          );
        },
      );
    }
    await a.auth.deleteUser(a.serverKey, user.id).catch((error: unknown) => {
      throw authFailure(error, `deleting ${user.email ?? user.id} failed`, a);
    });
    process.stderr.write(`deleted ${user.email ?? user.id}\n`);
  }
  process.stderr.write(`${synthetic.length} synthetic mechanic account(s) deleted from ${a.env.name}\n`);
  return 0;
}
