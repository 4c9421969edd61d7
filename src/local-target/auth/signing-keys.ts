/**
 * The project's JWT signing keys, as Supabase's "JWT signing keys" page manages them: ES256 key
 * pairs (public halves served as a JWKS) and, when enabled, the legacy HS256 secret. Each key is
 * `standby` (published, not yet signing), `current` (signs new tokens), `previously_used` (still
 * verifies) or `revoked` (verifies nothing and is no longer published). Exactly one key is current.
 */
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK, type KeyLike } from 'jose';

export type JwtMode = 'legacy' | 'asymmetric' | 'both';
export const JWT_MODES: readonly JwtMode[] = ['legacy', 'asymmetric', 'both'];

export type SigningKeyState = 'standby' | 'current' | 'previously_used' | 'revoked';
export type SigningAlgorithm = 'ES256' | 'HS256';

/** What list() and the admin API show about one key (never private material). */
export interface SigningKeyInfo {
  kid: string;
  algorithm: SigningAlgorithm;
  state: SigningKeyState;
  createdAt: string;
  /** The JWK the JWKS serves (ES256 keys only). */
  publicJwk: JWK | null;
}

/** A key-state change that Supabase does not allow (e.g. revoking the current key). */
export class SigningKeyError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 404 | 409,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'SigningKeyError';
  }
}

interface KeyEntry {
  kid: string;
  algorithm: SigningAlgorithm;
  state: SigningKeyState;
  createdAt: string;
  /** ES256: private key; HS256: the secret bytes. */
  signingKey: KeyLike | Uint8Array;
  /** ES256: public key; HS256: the secret bytes. */
  verifyKey: KeyLike | Uint8Array;
  publicJwk: JWK | null;
}

export interface SigningKeys {
  /** Every key, oldest first. */
  list(): SigningKeyInfo[];
  /** Create a new ES256 key in `standby` (published in the JWKS, not signing yet); returns its kid. */
  addStandby(): Promise<string>;
  /** Make a standby (or previously used) key current; the old current key becomes previously used. */
  makeCurrent(kid: string): SigningKeyInfo;
  /** Revoke a standby or previously used key: tokens it signed are refused everywhere from now on. */
  revoke(kid: string): SigningKeyInfo;
  /** The public JWKS: current, standby and previously used ES256 keys. */
  jwks(): { keys: JWK[] };
  /** Subscribe to changes (a rotation, a revocation). */
  onChange(listener: () => void): () => void;
}

/** Internal view used by the key ring to sign and verify. */
export interface SigningKeyStore extends SigningKeys {
  current(): { kid: string; algorithm: SigningAlgorithm; key: KeyLike | Uint8Array };
  /** The key that verifies a token with this header, or why none does. */
  lookup(
    alg: string,
    kid: string | undefined,
  ):
    | { ok: true; key: KeyLike | Uint8Array; algorithm: SigningAlgorithm }
    | { ok: false; reason: 'unknown_key' | 'revoked_key' | 'alg_not_allowed' };
  /** The legacy HS256 secret, while it exists and is not revoked. */
  legacySecret(): string | undefined;
}

async function newEs256Entry(state: SigningKeyState): Promise<KeyEntry> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = randomUUID();
  const jwk = await exportJWK(publicKey);
  return {
    kid,
    algorithm: 'ES256',
    state,
    createdAt: new Date().toISOString(),
    signingKey: privateKey,
    verifyKey: publicKey,
    // The shape Supabase's JWKS serves for an ECC (P-256) key.
    publicJwk: {
      alg: 'ES256',
      crv: jwk.crv,
      ext: true,
      key_ops: ['verify'],
      kid,
      kty: 'EC',
      use: 'sig',
      x: jwk.x,
      y: jwk.y,
    },
  };
}

export async function createSigningKeys(options: {
  mode: JwtMode;
  /** The legacy HS256 secret; required unless mode is `asymmetric`. */
  secret?: string;
}): Promise<SigningKeyStore> {
  const entries: KeyEntry[] = [];
  let secret = options.mode === 'asymmetric' ? undefined : options.secret;
  if (options.mode !== 'asymmetric' && secret === undefined) {
    throw new Error('createSigningKeys: the legacy secret is required in legacy and both modes');
  }
  if (secret !== undefined) {
    const bytes = new TextEncoder().encode(secret);
    entries.push({
      kid: 'legacy-hs256',
      algorithm: 'HS256',
      state: options.mode === 'legacy' ? 'current' : 'previously_used',
      createdAt: new Date().toISOString(),
      signingKey: bytes,
      verifyKey: bytes,
      publicJwk: null,
    });
  }
  if (options.mode !== 'legacy') entries.push(await newEs256Entry('current'));
  const listeners = new Set<() => void>();
  const changed = (): void => {
    for (const listener of listeners) listener();
  };

  const info = (entry: KeyEntry): SigningKeyInfo => ({
    kid: entry.kid,
    algorithm: entry.algorithm,
    state: entry.state,
    createdAt: entry.createdAt,
    publicJwk: entry.publicJwk,
  });

  const find = (kid: string): KeyEntry => {
    const entry = entries.find((candidate) => candidate.kid === kid);
    if (!entry) {
      throw new SigningKeyError(
        `no signing key with kid ${kid}`,
        404,
        'list the keys (GET /admin/v1/signing-keys) and use one of their kids',
      );
    }
    return entry;
  };

  return {
    list: () => entries.map(info),
    async addStandby() {
      const entry = await newEs256Entry('standby');
      entries.push(entry);
      changed();
      return entry.kid;
    },
    makeCurrent(kid) {
      const entry = find(kid);
      if (entry.state === 'current') return info(entry);
      if (entry.state === 'revoked') {
        throw new SigningKeyError(
          `signing key ${kid} is revoked and cannot sign again`,
          409,
          'add a standby key (POST /admin/v1/signing-keys) and make that one current',
        );
      }
      for (const other of entries) if (other.state === 'current') other.state = 'previously_used';
      entry.state = 'current';
      changed();
      return info(entry);
    },
    revoke(kid) {
      const entry = find(kid);
      if (entry.state === 'revoked') return info(entry);
      if (entry.state === 'current') {
        throw new SigningKeyError(
          `signing key ${kid} is the current key and cannot be revoked`,
          409,
          'make another key current first (add a standby key, make it current), then revoke this one',
        );
      }
      entry.state = 'revoked';
      if (entry.algorithm === 'HS256') secret = undefined;
      changed();
      return info(entry);
    },
    jwks: () => ({
      keys: entries
        .filter((entry) => entry.publicJwk !== null && entry.state !== 'revoked')
        .map((entry) => entry.publicJwk as JWK),
    }),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    current() {
      const entry = entries.find((candidate) => candidate.state === 'current');
      if (!entry) throw new Error('no current signing key');
      return { kid: entry.kid, algorithm: entry.algorithm, key: entry.signingKey };
    },
    lookup(alg, kid) {
      if (alg === 'HS256') {
        // Legacy tokens carry no kid (or the legacy one): the shared secret checks them.
        const legacy = entries.find((entry) => entry.algorithm === 'HS256');
        if (!legacy) return { ok: false, reason: 'alg_not_allowed' };
        if (legacy.state === 'revoked') return { ok: false, reason: 'revoked_key' };
        return { ok: true, key: legacy.verifyKey, algorithm: 'HS256' };
      }
      if (alg !== 'ES256') return { ok: false, reason: 'alg_not_allowed' };
      const entry = kid === undefined ? undefined : entries.find((candidate) => candidate.kid === kid);
      if (!entry || entry.algorithm !== 'ES256') return { ok: false, reason: 'unknown_key' };
      if (entry.state === 'revoked') return { ok: false, reason: 'revoked_key' };
      return { ok: true, key: entry.verifyKey, algorithm: 'ES256' };
    },
    legacySecret: () => secret,
  };
}
