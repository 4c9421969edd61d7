/**
 * Resolves an environment's env-var references into Secrets, at the edge. A missing variable is
 * an ENV_VAR_MISSING error naming the variable and the key that referenced it (all of one
 * environment's missing variables at once), so the caller can skip that environment and keep
 * the others running.
 */
import type { EnvironmentConfig } from './environment-schema.js';
import { EnvVarResolver, type Secret } from './secret.js';

export interface EnvironmentSecrets {
  anonKey?: Secret;
  serviceRoleKey?: Secret;
  waiverHeaders: Record<string, Secret>;
  mechanicTokens: Secret[];
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
  const secrets: EnvironmentSecrets = { waiverHeaders: {}, mechanicTokens: [] };
  const base = `environments.${config.name}`;
  if (config.remote) {
    const remote = config.remote;
    secrets.anonKey = ref(remote.anonKeyEnv, `${base}.remote.anonKeyEnv`);
    if (remote.serviceRoleKeyEnv) {
      secrets.serviceRoleKey = ref(remote.serviceRoleKeyEnv, `${base}.remote.serviceRoleKeyEnv`);
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
  }
  resolver.assertComplete();
  return { config, secrets };
}
