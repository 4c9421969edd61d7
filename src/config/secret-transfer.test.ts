import { describe, expect, it } from 'vitest';
import { Secret } from './secret.js';
import { revealSecrets, reviveSecrets } from './secret-transfer.js';

describe('secret transfer', () => {
  it('reveals Secrets wherever they sit and revives them with their source on the other side', () => {
    const original = {
      name: 'prod',
      anonKey: new Secret('anon-value', 'PROD_ANON_KEY'),
      headers: { authorization: new Secret('Bearer x', 'PROD_WAIVER_TOKEN') },
      mechanics: [{ id: 'm1', token: new Secret('jwt-1', 'PROD_MECHANIC_TOKENS') }],
      missing: undefined,
      limit: 200,
    };
    const wire = JSON.parse(JSON.stringify(revealSecrets(original))) as ReturnType<
      typeof revealSecrets<typeof original>
    >;
    expect(wire.anonKey).toEqual({ secret: 'anon-value', source: 'PROD_ANON_KEY' });
    const revived = reviveSecrets<typeof original>(wire);
    expect(revived.anonKey).toBeInstanceOf(Secret);
    expect(revived.anonKey.reveal()).toBe('anon-value');
    expect(revived.anonKey.source).toBe('PROD_ANON_KEY');
    expect(revived.headers.authorization.reveal()).toBe('Bearer x');
    expect(revived.mechanics[0]?.token.reveal()).toBe('jwt-1');
    expect(revived.limit).toBe(200);
    expect(String(revived.anonKey)).toBe('[redacted]');
  });

  it('leaves functions behind, since they cannot cross a process boundary', () => {
    const wire = revealSecrets({ name: 'local', close: async () => {}, nested: { refresh: () => 1, n: 2 } });
    expect(Object.keys(wire)).toEqual(['name', 'nested']);
    expect(wire.nested).toEqual({ n: 2 });
  });
});
