import { describe, expect, it } from 'vitest';
import { REDACTED, scrubSecrets } from './secret-scrub.js';

const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.c2lnbmF0dXJlLWJ5dGVz';

describe('scrubSecrets', () => {
  it.each([
    [`connect to ws://h/realtime/v1/websocket?apikey=${jwt}&vsn=2.0.0 failed`, 'apikey=[redacted]&vsn=2.0.0'],
    [`Authorization: Bearer ${jwt}`, 'Bearer [redacted]'],
    [`token ${jwt} expired`, `token ${REDACTED} expired`],
    ['key sb_secret_abcDEF123-xyz leaked', `key ${REDACTED} leaked`],
  ])('masks secrets shaped like keys in %j', (input, expected) => {
    const output = scrubSecrets(input);
    expect(output).toContain(expected);
    expect(output).not.toContain(jwt);
  });

  it('masks known secrets by value even when they do not look like keys', () => {
    expect(scrubSecrets('header was customer-session-0123456789', ['customer-session-0123456789'])).toBe(
      `header was ${REDACTED}`,
    );
  });

  it('leaves short known values and ordinary text alone', () => {
    expect(scrubSecrets('Invalid API key', ['key', undefined, ''])).toBe('Invalid API key');
  });
});
