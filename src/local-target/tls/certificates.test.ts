/**
 * The hand-built certificates, read back with node:crypto's X509Certificate: the names they cover,
 * how long they are valid, which one is a CA, and that the server certificate chains to the CA.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { certificatePublicKey, issueLocalCertificates } from './certificates.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** The PEM blocks of a file, in order. */
function pemBlocks(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g) ?? [];
}

function spkiOf(key: ReturnType<typeof createPublicKey>): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

describe('issueLocalCertificates', () => {
  const now = new Date('2026-06-01T12:00:00Z');
  const issued = issueLocalCertificates({ names: ['canary.test', '10.1.2.3', 'fe80::1:2'], now });
  const [leafPem, chainedCaPem] = pemBlocks(issued.certPem);
  const leaf = new X509Certificate(leafPem ?? '');
  const ca = new X509Certificate(issued.caPem);

  it('presents the server certificate followed by the CA', () => {
    expect(pemBlocks(issued.certPem)).toHaveLength(2);
    expect(chainedCaPem).toBe(issued.caPem);
  });

  it('covers localhost, the IPv4 and IPv6 loopback and every extra name, and nothing else', () => {
    expect(issued.subjectAltNames).toEqual([
      'localhost',
      '127.0.0.1',
      '::1',
      'canary.test',
      '10.1.2.3',
      'fe80::1:2',
    ]);
    expect(leaf.subjectAltName).toBe(
      'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:canary.test, ' +
        'IP Address:10.1.2.3, IP Address:FE80:0:0:0:0:0:1:2',
    );
    expect(leaf.checkHost('localhost')).toBe('localhost');
    expect(leaf.checkHost('canary.test')).toBe('canary.test');
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(leaf.checkIP('::1')).toBe('::1');
    expect(leaf.checkIP('10.1.2.3')).toBe('10.1.2.3');
    expect(leaf.checkHost('example.com')).toBeUndefined();
    expect(leaf.checkIP('127.0.0.2')).toBeUndefined();
  });

  it('leaves wildcard listen addresses and duplicates out of the names', () => {
    const wildcard = issueLocalCertificates({ names: ['0.0.0.0', '::', 'localhost', ''] });
    expect(wildcard.subjectAltNames).toEqual(['localhost', '127.0.0.1', '::1']);
  });

  it('is valid from an hour before now for the requested days, both certificates alike', () => {
    expect(new Date(leaf.validFrom).getTime()).toBe(now.getTime() - HOUR_MS);
    expect(new Date(leaf.validTo).getTime()).toBe(now.getTime() + 365 * DAY_MS);
    expect(issued.notAfter.getTime()).toBe(now.getTime() + 365 * DAY_MS);
    expect(ca.validFrom).toBe(leaf.validFrom);
    expect(ca.validTo).toBe(leaf.validTo);
    const short = issueLocalCertificates({ now, validForDays: 2 });
    expect(new Date(new X509Certificate(short.caPem).validTo).getTime()).toBe(now.getTime() + 2 * DAY_MS);
  });

  it('makes only the CA a CA, and marks the server certificate for server authentication', () => {
    expect(ca.ca).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(ca.subject).toBe(ca.issuer);
    expect(leaf.issuer).toBe(ca.subject);
    expect(leaf.subject).toContain('CN=localhost');
  });

  it('chains the server certificate to the CA and to no other CA', () => {
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(ca.verify(ca.publicKey)).toBe(true);
    const other = new X509Certificate(issueLocalCertificates().caPem);
    expect(other.subject).not.toBe(ca.subject);
    expect(leaf.checkIssued(other)).toBe(false);
    expect(leaf.verify(other.publicKey)).toBe(false);
  });

  it('uses ECDSA P-256 keys and returns the key of the server certificate', () => {
    expect(leaf.publicKey.asymmetricKeyType).toBe('ec');
    expect(leaf.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(ca.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const key = createPrivateKey(issued.keyPem);
    expect(spkiOf(createPublicKey(key))).toEqual(spkiOf(leaf.publicKey));
    expect(spkiOf(certificatePublicKey(issued.certPem))).toEqual(spkiOf(leaf.publicKey));
  });

  it('reports the CA fingerprint as openssl prints it, and new keys every run', () => {
    expect(issued.caFingerprint256).toBe(ca.fingerprint256);
    expect(issued.caFingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const again = issueLocalCertificates({ now });
    expect(again.caFingerprint256).not.toBe(issued.caFingerprint256);
    expect(again.keyPem).not.toBe(issued.keyPem);
    expect(new X509Certificate(again.caPem).serialNumber).not.toBe(ca.serialNumber);
  });
});
