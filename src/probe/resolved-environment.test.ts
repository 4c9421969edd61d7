import { describe, expect, it } from 'vitest';
import { mintUserToken } from '../auth/index.js';
import { environmentSchema } from '../config/index.js';
import { createLogger, isCanaryError } from '../shared/index.js';
import { resolveEnvironment } from './resolved-environment.js';

const SECRET = 'a-legacy-jwt-secret-of-at-least-32-characters';

function remoteWithTokens() {
  return environmentSchema.parse({
    name: 'prod',
    remote: { supabaseUrl: 'https://example.supabase.co', publishableKeyEnv: 'PROD_PUBLISHABLE_KEY' },
    mechanics: { from: 'env', tokensEnv: ['PROD_MECHANIC_TOKEN'] },
  });
}

describe('resolveEnvironment with pre-issued mechanic tokens', () => {
  it('warns at start how long a pre-issued token remains valid', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await mintUserToken(SECRET, 'mechanic-1', 2 * 3600, now);
    const lines: string[] = [];
    const env = await resolveEnvironment(remoteWithTokens(), {
      env: { PROD_PUBLISHABLE_KEY: 'sb_publishable_x', PROD_MECHANIC_TOKEN: token },
      logger: createLogger({ level: 'warn', json: true, write: (line) => lines.push(line) }),
    });
    try {
      expect(env.mechanics.map((m) => [m.id, m.session.source])).toEqual([['mechanic-1', 'env']]);
      const warning = lines
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((l) => l.variable === 'PROD_MECHANIC_TOKEN');
      expect(warning).toMatchObject({ level: 'warn', validForMinutes: 120 });
      expect(String(warning?.msg)).toContain('it is not renewed');
      expect(lines.join('\n')).not.toContain(token);
    } finally {
      await env.close();
    }
  });

  it('refuses to start with a token that has already expired, naming its variable', async () => {
    const token = await mintUserToken(SECRET, 'mechanic-1', 60, Math.floor(Date.now() / 1000) - 7200);
    const error = await resolveEnvironment(remoteWithTokens(), {
      env: { PROD_PUBLISHABLE_KEY: 'sb_publishable_x', PROD_MECHANIC_TOKEN: token },
    }).catch((thrown: unknown) => thrown);
    expect(isCanaryError(error) && error.code).toBe('AUTH_FAILED');
    expect((error as Error).message).toContain(
      'the mechanic token in PROD_MECHANIC_TOKEN expired 119 min ago',
    );
    expect(isCanaryError(error) && error.hint).toContain('mechanics.from: password');
  });
});
