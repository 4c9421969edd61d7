/**
 * The local target's TLS material: a certificate issued per run (`tls: true`), or a certificate and
 * key the user brings (`tls: { certFile, keyFile }`, the CLI's --tls-cert / --tls-key). A generated
 * CA is written to a private temp directory so clients can trust it (NODE_EXTRA_CA_CERTS); given
 * files are checked up front — readable, PEM, key matching, in date, covering the listening host —
 * so a bad file fails before Postgres starts, with the file and the fix named.
 */
import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { rootCertificates } from 'node:tls';
import { Agent, type Dispatcher } from 'undici';
import { CanaryError, silentLogger, type Logger } from '../../shared/index.js';
import { issueLocalCertificates } from './certificates.js';

/** `true`: a CA and server certificate made for this run; an object: the user's own files. */
export type TargetTlsOption = boolean | { certFile?: string; keyFile?: string };

export interface TargetTls {
  /** The server's private key (PEM). */
  key: string;
  /** What the server presents: its certificate, then any chain (PEM). */
  cert: string;
  /** What clients must trust: the generated CA, or the given certificate file's contents. */
  caPem: string;
  /** A file holding caPem (for NODE_EXTRA_CA_CERTS): the generated CA's, or the given --tls-cert. */
  caFile: string;
  /** SHA-256 fingerprint of what clients trust: the generated CA, or the given server certificate. */
  fingerprint256: string;
  generated: boolean;
  /** SHA-256 fingerprint of the server certificate itself; the target's calls to itself pin it. */
  serverFingerprint256: string;
  /** Removes the generated CA's temp directory (nothing to remove for given files). Idempotent. */
  remove(): Promise<void>;
}

export interface ResolveTlsOptions {
  /** The interface the target listens on; the certificate must cover it. */
  host: string;
  logger?: Logger;
  /** "Now" for the validity check (tests). */
  now?: Date;
}

/** Node's fetch takes undici's `dispatcher` option, which the DOM RequestInit type does not declare. */
export type RequestInitWithDispatcher = RequestInit & { dispatcher?: Dispatcher };

/** `canary target` reads this when no TLS flag is given: 1/true turns TLS on. */
export const TLS_ENV = 'CANARY_TARGET_TLS';

const CERT_FLAG = '--tls-cert';
const KEY_FLAG = '--tls-key';
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::']);

/** CANARY_TARGET_TLS as a boolean; anything other than 1/true/0/false/empty is a usage error. */
export function tlsFromEnvironment(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = (env[TLS_ENV] ?? '').trim().toLowerCase();
  if (value === '1' || value === 'true') return true;
  if (value === '' || value === '0' || value === 'false') return false;
  throw new CanaryError('CLI_USAGE', `${TLS_ENV} is ${JSON.stringify(env[TLS_ENV])}, not 1 or 0`, {
    hint: `set ${TLS_ENV}=1 to serve https:// and wss://, or unset it for plain http://`,
  });
}

/** The target's TLS material for `option`, or undefined when TLS is off. */
export async function resolveTargetTls(
  option: TargetTlsOption | undefined,
  options: ResolveTlsOptions,
): Promise<TargetTls | undefined> {
  if (option === undefined || option === false) return undefined;
  const logger = options.logger ?? silentLogger;
  if (option === true) return generateTls(options.host, logger);
  return loadTlsFiles(option, options.host, logger, options.now ?? new Date());
}

/** True when the certificate names `host` (a DNS name or an IP address) in its subjectAltName. */
export function certificateCovers(certificate: X509Certificate, host: string): boolean {
  return isIP(host) === 0
    ? certificate.checkHost(host) !== undefined
    : certificate.checkIP(host) !== undefined;
}

/**
 * The host to put in the target's URL. A wildcard listener (0.0.0.0, ::) is not a name any
 * certificate can cover, so under TLS the URL names a loopback address the certificate does cover.
 */
export function advertisedHost(host: string, tls: TargetTls | undefined): string {
  if (!tls || !WILDCARD_HOSTS.has(host)) return host;
  const certificate = new X509Certificate(tls.cert);
  const loopback = host === '::' ? ['::1', '127.0.0.1', 'localhost'] : ['127.0.0.1', 'localhost'];
  return loopback.find((name) => certificateCovers(certificate, name)) ?? host;
}

/** `host` as it goes into a URL: IPv6 addresses in brackets. */
export function urlHost(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

/**
 * An undici dispatcher for the target's requests to itself (the REST broadcast of the waiver
 * endpoint). It trusts the target's CA and pins the target's own server certificate instead of
 * checking the name: stricter than a name check, and it works whatever --host says (a wildcard, or
 * a name the certificate has that does not resolve on this machine).
 */
export function createSelfDispatcher(tls: TargetTls): Agent {
  return new Agent({
    connect: {
      // A given certificate may be issued by a public CA; keep the system roots for that case.
      ca: tls.generated ? tls.caPem : [...rootCertificates, tls.caPem],
      checkServerIdentity: (_hostname, peer) =>
        peer.fingerprint256 === tls.serverFingerprint256
          ? undefined
          : new Error(`the target presented ${peer.fingerprint256}, not its own certificate`),
    },
  });
}

async function generateTls(host: string, logger: Logger): Promise<TargetTls> {
  const issued = issueLocalCertificates({ names: [host] });
  if (WILDCARD_HOSTS.has(host)) {
    logger.warn('listening on every interface; the generated certificate covers loopback names only', {
      host,
      names: issued.subjectAltNames.join(','),
      fix: `clients on other machines need ${CERT_FLAG} / ${KEY_FLAG} for the name they connect to`,
    });
  }
  let directory: string;
  try {
    directory = await mkdtemp(path.join(tmpdir(), 'canary-target-tls-'));
    await chmod(directory, 0o700);
  } catch (error) {
    throw new CanaryError('TARGET_START_FAILED', `cannot create a directory for the target's CA file`, {
      hint: 'check that the temp directory (TMPDIR) exists and is writable',
      cause: error,
    });
  }
  const caFile = path.join(directory, 'ca.pem');
  try {
    await writeFile(caFile, issued.caPem, { mode: 0o600 });
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw new CanaryError('TARGET_START_FAILED', `cannot write the target's CA file ${caFile}`, {
      hint: 'check that the temp directory (TMPDIR) is writable and not full',
      cause: error,
    });
  }
  let removed: Promise<void> | undefined;
  return {
    key: issued.keyPem,
    cert: issued.certPem,
    caPem: issued.caPem,
    caFile,
    fingerprint256: issued.caFingerprint256,
    generated: true,
    serverFingerprint256: new X509Certificate(issued.certPem).fingerprint256,
    remove: () => (removed ??= rm(directory, { recursive: true, force: true })),
  };
}

async function loadTlsFiles(
  files: { certFile?: string; keyFile?: string },
  host: string,
  logger: Logger,
  now: Date,
): Promise<TargetTls> {
  const { certFile, keyFile } = files;
  if (certFile === undefined || keyFile === undefined) {
    const [given, missing] = certFile === undefined ? [KEY_FLAG, CERT_FLAG] : [CERT_FLAG, KEY_FLAG];
    throw new CanaryError('CLI_USAGE', `${given} is given without ${missing}`, {
      hint: `pass both ${CERT_FLAG} <file> and ${KEY_FLAG} <file>, or --tls alone for a certificate made for this run`,
    });
  }
  const certText = await readPem(certFile, CERT_FLAG, 'certificate');
  const keyText = await readPem(keyFile, KEY_FLAG, 'private key');
  const certificate = parseCertificate(certText, certFile);
  const key = parsePrivateKey(keyText, keyFile);

  if (!samePublicKey(createPublicKey(key), certificate.publicKey)) {
    throw new CanaryError(
      'CLI_USAGE',
      `the key ${keyFile} (${KEY_FLAG}) does not belong to the certificate ${certFile} (${CERT_FLAG})`,
      {
        hint:
          'pass the key the certificate was issued for; `openssl x509 -noout -pubkey -in <cert>` and ' +
          '`openssl pkey -pubout -in <key>` print the same key when they match',
      },
    );
  }
  const validFrom = new Date(certificate.validFrom);
  const validTo = new Date(certificate.validTo);
  if (validTo.getTime() <= now.getTime()) {
    throw new CanaryError(
      'CLI_USAGE',
      `the certificate ${certFile} (${CERT_FLAG}) expired on ${validTo.toISOString()}`,
      { hint: 'issue a new certificate, or use --tls alone for one made for this run' },
    );
  }
  if (validFrom.getTime() > now.getTime()) {
    throw new CanaryError(
      'CLI_USAGE',
      `the certificate ${certFile} (${CERT_FLAG}) is not valid before ${validFrom.toISOString()}`,
      { hint: "check this machine's clock, or issue a certificate valid from now" },
    );
  }
  const names = certificate.subjectAltName ?? `CN ${certificate.subject.replace(/\n/g, ', ')}`;
  if (WILDCARD_HOSTS.has(host)) {
    // A wildcard listener has no single name to check; clients must use one the certificate has.
    logger.warn('listening on every interface; clients must connect with a name the certificate covers', {
      host,
      certFile,
      names,
    });
  } else if (!certificateCovers(certificate, host)) {
    const entry = isIP(host) === 0 ? `DNS:${host}` : `IP:${host}`;
    throw new CanaryError(
      'CLI_USAGE',
      `the certificate ${certFile} (${CERT_FLAG}) does not cover the listening host ${host} (it names ${names})`,
      {
        hint: `issue it with subjectAltName ${entry}, or pass a --host the certificate names`,
      },
    );
  }
  return {
    key: keyText,
    cert: certText,
    caPem: certText,
    // Absolute, so the printed NODE_EXTRA_CA_CERTS works from any directory.
    caFile: path.resolve(certFile),
    fingerprint256: certificate.fingerprint256,
    generated: false,
    serverFingerprint256: certificate.fingerprint256,
    remove: async () => undefined,
  };
}

async function readPem(file: string, flag: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new CanaryError('CLI_USAGE', `cannot read the TLS ${what} file ${file} (${flag}): ${code}`, {
      hint: `check the path given to ${flag} and that this user may read the file`,
      cause: error,
    });
  }
}

function parseCertificate(text: string, file: string): X509Certificate {
  const notPem = new CanaryError('CLI_USAGE', `${file} (${CERT_FLAG}) is not a PEM certificate`, {
    hint:
      'pass a file that starts with -----BEGIN CERTIFICATE----- (convert DER with ' +
      '`openssl x509 -inform der -in cert.der -out cert.pem`)',
  });
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw notPem;
  try {
    // The first certificate in the file is the server's; any after it are its chain.
    return new X509Certificate(text);
  } catch {
    throw notPem;
  }
}

function parsePrivateKey(text: string, file: string): KeyObject {
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text)) {
    throw new CanaryError('CLI_USAGE', `${file} (${KEY_FLAG}) is an encrypted private key`, {
      hint: 'the target cannot ask for a passphrase; decrypt it with `openssl pkey -in key.pem -out plain-key.pem`',
    });
  }
  const notPem = new CanaryError('CLI_USAGE', `${file} (${KEY_FLAG}) is not a PEM private key`, {
    hint: 'pass the key file that starts with -----BEGIN PRIVATE KEY----- (or BEGIN EC / RSA PRIVATE KEY)',
  });
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) throw notPem;
  try {
    return createPrivateKey(text);
  } catch {
    throw notPem;
  }
}

function samePublicKey(a: KeyObject, b: KeyObject): boolean {
  return a.export({ type: 'spki', format: 'der' }).equals(b.export({ type: 'spki', format: 'der' }));
}
