import { describe, expect, it } from 'vitest';
import { createKeyRing, KeyError } from '../keys.js';
import { describeTokenFailure, systemTextFor } from './token-failure.js';

function tokenWithExp(exp: number): string {
  const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'HS256' })}.${part({ role: 'anon', exp })}.sig`;
}

describe('token failure wording', () => {
  it('maps each key ring failure to the upgrade text, the join reason and the refusal label', async () => {
    const keys = await createKeyRing();
    const now = Date.now();
    const cases: [string, { text: string; joinReason: string | RegExp; reason: string }][] = [
      [
        'garbage',
        {
          text: 'The token provided is not a valid JWT',
          joinReason: 'MalformedJWT: The token provided is not a valid JWT',
          reason: 'jwt_malformed',
        },
      ],
      [
        await keys.sign({ exp: Math.floor(now / 1000) + 60 }),
        {
          text: 'Fields `role` and `exp` are required in JWT',
          joinReason: 'InvalidJWTToken: Fields `role` and `exp` are required in JWT',
          reason: 'jwt_claims_missing',
        },
      ],
      [
        await keys.sign({ role: 'anon', exp: Math.floor(now / 1000) - 42 }),
        {
          text: 'Token has expired',
          joinReason: /^InvalidJWTToken: Token has expired (42|43) seconds ago$/,
          reason: 'token_expired',
        },
      ],
      [
        tokenWithExp(Math.floor(now / 1000) + 60),
        {
          text: 'Failed to validate JWT signature',
          joinReason: 'JwtSignatureError: Failed to validate JWT signature',
          reason: 'jwt_signature',
        },
      ],
    ];
    for (const [token, expected] of cases) {
      const error = await keys.verify(token).then(
        () => null,
        (rejection: unknown) => rejection,
      );
      expect(error).toBeInstanceOf(KeyError);
      const failure = describeTokenFailure(error, token, now);
      expect(failure.text).toBe(expected.text);
      expect(failure.joinReason).toMatch(expected.joinReason);
      expect(failure.reason).toBe(expected.reason);
    }
  });

  it('reads Supabase wording from errors of other key rings, and says how long ago a token expired', () => {
    const now = 1_700_000_000_000;
    const token = tokenWithExp(now / 1000 - 5);
    const failure = describeTokenFailure(new Error('Token has expired'), token, now);
    expect(failure.joinReason).toBe('InvalidJWTToken: Token has expired 5 seconds ago');
    expect(systemTextFor(failure, token, now)).toBe('Token has expired 5 seconds ago');
    expect(describeTokenFailure(new Error('whatever'), null, now)).toMatchObject({
      kind: 'missing',
      text: 'API key is missing',
    });
  });
});
