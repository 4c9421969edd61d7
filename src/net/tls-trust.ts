/**
 * Which certificate authorities the harness trusts for a project, and the ONE `SecureContext`
 * built from them. Node's default gives every TLS socket its own context (tens of KB each);
 * sharing one per trust configuration is the largest single memory saving over wss.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import tls from 'node:tls';
import { CanaryError } from '../shared/index.js';

export interface TrustConfig {
  /** PEM files with extra CAs to trust besides the system roots (e.g. a local target's CA). */
  caFiles?: readonly string[];
  /** Extra CAs given as PEM text. */
  caPems?: readonly string[];
  /** Where caFiles came from, for error messages (a config file and key). */
  source?: string;
}

export class TlsTrust {
  private constructor(
    /** '' for the system roots alone, else a digest of the extra CAs. */
    readonly id: string,
    readonly secureContext: tls.SecureContext,
    /** The extra CAs (PEM), so child processes can be given the same trust. */
    readonly extraCaPems: readonly string[],
  ) {}

  private static readonly cache = new Map<string, TlsTrust>();

  /** The trust for a configuration: one instance (and one SecureContext) per distinct CA set. */
  static of(config: TrustConfig = {}): TlsTrust {
    const pems = [
      ...(config.caPems ?? []),
      ...(config.caFiles ?? []).map((file) => readCaFile(file, config.source)),
    ];
    const id =
      pems.length === 0 ? '' : createHash('sha256').update(pems.join('\n')).digest('hex').slice(0, 16);
    const known = TlsTrust.cache.get(id);
    if (known) return known;
    const trust = new TlsTrust(id, createContext(pems), pems);
    TlsTrust.cache.set(id, trust);
    return trust;
  }

  /** The system roots (plus NODE_EXTRA_CA_CERTS), shared. */
  static system(): TlsTrust {
    return TlsTrust.of();
  }
}

function createContext(extraCaPems: readonly string[]): tls.SecureContext {
  if (extraCaPems.length === 0) return tls.createSecureContext();
  // `ca` replaces Node's root store, so the roots (and NODE_EXTRA_CA_CERTS) go in explicitly:
  // trusting a local CA must not stop the same process from reaching a real project.
  return tls.createSecureContext({
    ca: [...tls.rootCertificates, ...nodeExtraCaCerts(), ...extraCaPems],
  });
}

function nodeExtraCaCerts(): string[] {
  const file = process.env.NODE_EXTRA_CA_CERTS;
  if (!file) return [];
  try {
    return [fs.readFileSync(file, 'utf8')];
  } catch {
    return []; // Node itself only warns about an unreadable NODE_EXTRA_CA_CERTS; so do we (by not failing).
  }
}

function readCaFile(file: string, source: string | undefined): string {
  const where = source ? ` (${source})` : '';
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new CanaryError(
      'CONFIG_INVALID',
      `cannot read the CA file ${file}${where}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      {
        hint: 'point tls.caFile at a readable PEM file (`canary target --tls` prints CANARY_TLS_CA_FILE)',
        cause: error,
      },
    );
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw new CanaryError('CONFIG_INVALID', `the CA file ${file}${where} holds no PEM certificate`, {
      hint: 'give a PEM file that starts with -----BEGIN CERTIFICATE----- (convert DER with `openssl x509 -inform der`)',
    });
  }
  try {
    tls.createSecureContext({ ca: text });
  } catch (error) {
    throw new CanaryError(
      'CONFIG_INVALID',
      `the CA file ${file}${where} is not a valid certificate: ${(error as Error).message}`,
      {
        hint: 'give the PEM certificate of the authority that signed the server certificate',
        cause: error,
      },
    );
  }
  return text;
}

/**
 * How Node and OpenSSL word a TLS failure (an untrusted or expired certificate, a name mismatch, a
 * plain-http port answering a TLS hello): a failure of trust or setup, not of the network.
 */
export const TLS_FAILURE_PATTERN =
  /self[- ]signed certificate|unable to (get|verify) (the first |local )?(issuer )?certificate|certificate (has )?expired|certificate is not yet valid|Hostname\/IP does not match|ERR_TLS_|ERR_SSL_|CERT_HAS_EXPIRED|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|SSL routines|wrong version number|packet length too long/i;

export const TLS_TRUST_HINT =
  "trust the project's certificate authority: set tls.caFile in the environment (for `canary target --tls`, the CA file it prints), or NODE_EXTRA_CA_CERTS; a plain http:// project needs an http:// URL";

/** The text of an error and its causes, for matching TLS failures wrapped by fetch or ws. */
export function errorChainText(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth += 1) {
    if (current instanceof Error) {
      parts.push(current.message);
      const code = (current as NodeJS.ErrnoException).code;
      if (typeof code === 'string') parts.push(code);
      current = current.cause;
    } else {
      parts.push(String(current));
      break;
    }
  }
  return parts.join(': ');
}

export function isTlsFailure(errorOrText: unknown): boolean {
  return TLS_FAILURE_PATTERN.test(
    typeof errorOrText === 'string' ? errorOrText : errorChainText(errorOrText),
  );
}
