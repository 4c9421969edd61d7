/**
 * Certificates for a target that serves TLS: a private CA made per run and a server certificate it
 * signs for the names clients use (localhost, 127.0.0.1, ::1 and the listening host). ECDSA P-256
 * like most TLS edges today, so handshake costs look like a real project's. Clients trust the CA
 * (NODE_EXTRA_CA_CERTS or the environment's `tls.caFile`); nothing here talks to the network.
 */
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  X509Certificate,
} from 'node:crypto';
import { isIP } from 'node:net';
import type { KeyObject } from 'node:crypto';
import {
  bitString,
  boolean,
  explicit,
  implicitPrimitive,
  objectIdentifier,
  octetString,
  sequence,
  set,
  smallInteger,
  time,
  unsignedInteger,
  utf8String,
} from './der.js';

const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
};

const ORGANIZATION = 'Realtime Canary local target';
const HOUR_MS = 3_600_000;

export interface IssuedCertificates {
  /** The per-run CA certificate clients trust (PEM). */
  caPem: string;
  /** The server certificate followed by the CA (PEM), what the server presents. */
  certPem: string;
  /** The server certificate's private key (PKCS#8 PEM). */
  keyPem: string;
  /** SHA-256 fingerprint of the CA, as `openssl x509 -fingerprint -sha256` prints it. */
  caFingerprint256: string;
  /** The names and addresses the server certificate is valid for. */
  subjectAltNames: string[];
  notAfter: Date;
}

export interface IssueOptions {
  /** Extra DNS names or IP addresses beyond localhost, 127.0.0.1 and ::1. */
  names?: readonly string[];
  /** How long both certificates are valid; default 365 days (targets may run for weeks). */
  validForDays?: number;
  now?: Date;
}

/** A CA and a server certificate for loopback names, both ECDSA P-256 / SHA-256. */
export function issueLocalCertificates(options: IssueOptions = {}): IssuedCertificates {
  const now = options.now ?? new Date();
  // An hour of slack before now: a client whose clock is a little behind still accepts it.
  const notBefore = new Date(now.getTime() - HOUR_MS);
  const notAfter = new Date(now.getTime() + (options.validForDays ?? 365) * 24 * HOUR_MS);
  const names = [...new Set(['localhost', '127.0.0.1', '::1', ...(options.names ?? [])])].filter(
    (name) => name !== '' && name !== '0.0.0.0' && name !== '::',
  );

  const caKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const serverKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const caName = distinguishedName(`Realtime Canary local CA ${randomBytes(4).toString('hex')}`);
  const caKeyId = keyIdentifier(caKeys.publicKey);

  const caDer = signCertificate({
    issuer: caName,
    subject: caName,
    notBefore,
    notAfter,
    subjectKey: caKeys.publicKey,
    signingKey: caKeys.privateKey,
    extensions: [
      extension(OID.basicConstraints, true, sequence(boolean(true), smallInteger(0))),
      // keyCertSign (bit 5) and cRLSign (bit 6): 0b0000011 0 → 0x06 with one unused bit.
      extension(OID.keyUsage, true, bitString(Buffer.from([0x06]), 1)),
      extension(OID.subjectKeyId, false, octetString(caKeyId)),
    ],
  });
  const serverDer = signCertificate({
    issuer: caName,
    subject: distinguishedName(names[0] ?? 'localhost'),
    notBefore,
    notAfter,
    subjectKey: serverKeys.publicKey,
    signingKey: caKeys.privateKey,
    extensions: [
      extension(OID.basicConstraints, true, sequence()),
      // digitalSignature (bit 0): 0x80 with seven unused bits.
      extension(OID.keyUsage, true, bitString(Buffer.from([0x80]), 7)),
      extension(OID.extKeyUsage, false, sequence(objectIdentifier(OID.serverAuth))),
      extension(OID.subjectAltName, false, sequence(...names.map(generalName))),
      extension(OID.subjectKeyId, false, octetString(keyIdentifier(serverKeys.publicKey))),
      extension(OID.authorityKeyId, false, sequence(implicitPrimitive(0, caKeyId))),
    ],
  });

  const caPem = pem('CERTIFICATE', caDer);
  return {
    caPem,
    certPem: pem('CERTIFICATE', serverDer) + caPem,
    keyPem: serverKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    caFingerprint256: new X509Certificate(caDer).fingerprint256,
    subjectAltNames: names,
    notAfter,
  };
}

interface CertificateFields {
  issuer: Buffer;
  subject: Buffer;
  notBefore: Date;
  notAfter: Date;
  subjectKey: KeyObject;
  signingKey: KeyObject;
  extensions: Buffer[];
}

function signCertificate(fields: CertificateFields): Buffer {
  const algorithm = sequence(objectIdentifier(OID.ecdsaWithSha256));
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f; // positive, at most 16 bytes (RFC 5280 allows 20)
  const tbs = sequence(
    explicit(0, smallInteger(2)), // v3
    unsignedInteger(serial),
    algorithm,
    fields.issuer,
    sequence(time(fields.notBefore), time(fields.notAfter)),
    fields.subject,
    fields.subjectKey.export({ type: 'spki', format: 'der' }),
    explicit(3, sequence(...fields.extensions)),
  );
  const signature = sign('sha256', tbs, { key: fields.signingKey, dsaEncoding: 'der' });
  return sequence(tbs, algorithm, bitString(signature));
}

function distinguishedName(commonName: string): Buffer {
  return sequence(
    set(sequence(objectIdentifier(OID.organization), utf8String(ORGANIZATION))),
    set(sequence(objectIdentifier(OID.commonName), utf8String(commonName))),
  );
}

function extension(oid: string, critical: boolean, value: Buffer): Buffer {
  return critical
    ? sequence(objectIdentifier(oid), boolean(true), octetString(value))
    : sequence(objectIdentifier(oid), octetString(value));
}

function keyIdentifier(publicKey: KeyObject): Buffer {
  return createHash('sha1')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest();
}

/** SAN entry: iPAddress [7] for addresses, dNSName [2] otherwise. */
function generalName(name: string): Buffer {
  const family = isIP(name);
  if (family === 4) return implicitPrimitive(7, Buffer.from(name.split('.').map(Number)));
  if (family === 6) return implicitPrimitive(7, ipv6Bytes(name));
  return implicitPrimitive(2, Buffer.from(name, 'ascii'));
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail] = address.split('::');
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const missing = 8 - left.length - right.length;
  const all = [...left, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...right];
  const bytes = Buffer.alloc(16);
  all.forEach((group, index) => bytes.writeUInt16BE(parseInt(group, 16), index * 2));
  return bytes;
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** The public key inside a PEM certificate, for checking a configured key belongs to it. */
export function certificatePublicKey(certPem: string): KeyObject {
  return createPublicKey(new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'pem' }));
}
