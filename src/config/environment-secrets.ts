/**
 * Resolves an environment's env-var references into Secrets, at the edge. A missing variable is
 * an ENV_VAR_MISSING error naming the variable and the key that referenced it (all of one
 * environment's missing variables at once), so the caller can skip that environment and keep
 * the others running. Keys are checked for their kind as well: a secret key where a publishable
 * one belongs (it would be handed to every subscriber) is a CONFIG_INVALID naming both.
 */
import { CanaryError } from '../shared/index.js';
import type { EnvironmentConfig } from './environment-schema.js';
import { EnvVarResolver, type Secret } from './secret.js';

/** Which family of API keys an environment uses. */
export type ApiKeyKind = 'publishable' | 'anon' | 'secret' | 'service_role';

export interface MechanicAccount {
  email: Secret;
  password: Secret;
}

export interface EnvironmentSecrets {
  /** The client-side key: publishable (sb_publishable_…) or the legacy anon JWT. */
  anonKey?: Secret;
  anonKeyKind?: 'publishable' | 'anon';
  /** The server-side key: secret (sb_secret_…) or the legacy service_role JWT. */
  serviceRoleKey?: Secret;
  serviceRoleKeyKind?: 'secret' | 'service_role';
  waiverHeaders: Record<string, Secret>;
  mechanicTokens: Secret[];
  mechanicAccounts: MechanicAccount[];
  jwtSecret?: Secret;
}

/** An environment with its secrets resolved. */
export interface EnvironmentWithSecrets {
  config: EnvironmentConfig;
  secrets: EnvironmentSecrets;
}

export function resolveEnvironmentSecrets(
  config: EnvironmentConfig,
  options: { env?: NodeJS.ProcessEnv; file?: string } = {},
): EnvironmentWithSecrets {
  const resolver = new EnvVarResolver(options.env ?? process.env);
  const ref = (variable: string, key: string) => resolver.secret({ variable, key, file: options.file });
  const secrets: EnvironmentSecrets = { waiverHeaders: {}, mechanicTokens: [], mechanicAccounts: [] };
  const base = `environments.${config.name}`;
  const checks: { secret: Secret; kind: ApiKeyKind; key: string }[] = [];
  if (config.remote) {
    const remote = config.remote;
    // The new key when given, else the legacy one; each is checked for its kind below.
    const keyRef = <K extends ApiKeyKind>(
      field: 'publishableKeyEnv' | 'anonKeyEnv' | 'secretKeyEnv' | 'serviceRoleKeyEnv',
      kind: K,
    ): { secret: Secret; kind: K } | undefined => {
      const variable = remote[field];
      if (!variable) return undefined;
      const key = `${base}.remote.${field}`;
      const secret = ref(variable, key);
      checks.push({ secret, kind, key });
      return { secret, kind };
    };
    const client = keyRef('publishableKeyEnv', 'publishable') ?? keyRef('anonKeyEnv', 'anon');
    const server = keyRef('secretKeyEnv', 'secret') ?? keyRef('serviceRoleKeyEnv', 'service_role');
    if (client) {
      secrets.anonKey = client.secret;
      secrets.anonKeyKind = client.kind;
    }
    if (server) {
      secrets.serviceRoleKey = server.secret;
      secrets.serviceRoleKeyKind = server.kind;
    }
    for (const [header, variable] of Object.entries(remote.waiverHeadersEnv ?? {})) {
      secrets.waiverHeaders[header] = ref(variable, `${base}.remote.waiverHeadersEnv.${header}`);
    }
  }
  const mechanics = config.mechanics;
  if (mechanics?.from === 'env') {
    mechanics.tokensEnv.forEach((variable, i) => {
      secrets.mechanicTokens.push(ref(variable, `${base}.mechanics.tokensEnv[${i}]`));
    });
  } else if (mechanics?.from === 'mint') {
    secrets.jwtSecret = ref(mechanics.jwtSecretEnv, `${base}.mechanics.jwtSecretEnv`);
  } else if (mechanics?.from === 'password') {
    mechanics.accounts.forEach((account, i) => {
      secrets.mechanicAccounts.push({
        email: ref(account.emailEnv, `${base}.mechanics.accounts[${i}].emailEnv`),
        password: ref(account.passwordEnv, `${base}.mechanics.accounts[${i}].passwordEnv`),
      });
    });
  }
  resolver.assertComplete();
  const problems = checks.flatMap((check) => {
    const problem = keyKindProblem(check.secret.reveal(), check.kind);
    return problem
      ? [`  ${options.file ? `${options.file}: ` : ''}${check.key}: ${check.secret.source} ${problem}`]
      : [];
  });
  if (problems.length > 0) {
    throw new CanaryError(
      'CONFIG_INVALID',
      `environment "${config.name}" has a key of the wrong kind:\n${problems.join('\n')}`,
      {
        hint: 'Project Settings → API Keys lists the publishable and secret keys; the legacy tab the anon and service_role keys',
      },
    );
  }
  return { config, secrets };
}

/** The role a legacy JWT key claims, without verifying it. */
function jwtRole(value: string): string | undefined {
  const part = value.split('.')[1];
  if (!part) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as { role?: unknown };
    return typeof claims.role === 'string' ? claims.role : undefined;
  } catch {
    return undefined;
  }
}

/** What is wrong with a key given for `kind`, or undefined when it looks right. */
export function keyKindProblem(value: string, kind: ApiKeyKind): string | undefined {
  const isSecret = value.startsWith('sb_secret_');
  const isPublishable = value.startsWith('sb_publishable_');
  const role = isSecret || isPublishable ? undefined : jwtRole(value);
  switch (kind) {
    case 'publishable':
      if (isSecret)
        return 'holds a secret key (sb_secret_…) where the publishable key belongs — subscribers would carry it; set it to the sb_publishable_… key';
      if (!isPublishable)
        return role
          ? `holds a legacy JWT key (role ${role}), not a publishable key — use anonKeyEnv for legacy keys, or set it to the sb_publishable_… key`
          : 'is not a publishable key (sb_publishable_…) — copy it from Project Settings → API Keys';
      return undefined;
    case 'anon':
      if (isSecret || role === 'service_role')
        return 'holds a secret or service_role key where the anon key belongs — subscribers would carry it; set it to the anon key (or use publishableKeyEnv)';
      if (isPublishable)
        return 'holds a publishable key — name it in publishableKeyEnv instead of anonKeyEnv';
      return undefined;
    case 'secret':
      if (isPublishable)
        return 'holds a publishable key where the secret key belongs — set it to the sb_secret_… key';
      if (!isSecret)
        return role
          ? `holds a legacy JWT key (role ${role}) — use serviceRoleKeyEnv for legacy keys, or set it to the sb_secret_… key`
          : 'is not a secret key (sb_secret_…) — copy it from Project Settings → API Keys';
      return undefined;
    case 'service_role':
      if (isSecret) return 'holds a secret key — name it in secretKeyEnv instead of serviceRoleKeyEnv';
      if (isPublishable || role === 'anon')
        return 'holds a client key (publishable or anon) where the service_role key belongs — copy the service_role key';
      return undefined;
  }
}
