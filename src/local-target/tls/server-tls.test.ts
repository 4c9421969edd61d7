/**
 * resolveTargetTls() without a target: the generated CA file and its cleanup, each way a given
 * certificate or key can be wrong, the URL host under TLS, CANARY_TARGET_TLS, and the dispatcher
 * that pins the target's own certificate (against a plain https server).
 */
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Dispatcher } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CanaryError, type Logger } from '../../shared/index.js';
import { issueLocalCertificates } from './certificates.js';
import {
  advertisedHost,
  createSelfDispatcher,
  resolveTargetTls,
  tlsFromEnvironment,
  urlHost,
  type RequestInitWithDispatcher,
  type TargetTls,
} from './server-tls.js';

const DAY_MS = 24 * 3_600_000;

let scratch: string;
const resolved: TargetTls[] = [];

beforeAll(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-server-tls-test-'));
});
afterEach(async () => {
  for (const tls of resolved.splice(0)) await tls.remove();
});
afterAll(() => {
  fs.rmSync(scratch, { recursive: true, force: true });
});

function write(name: string, text: string): string {
  const file = path.join(scratch, name);
  fs.writeFileSync(file, text);
  return file;
}

async function resolve(...args: Parameters<typeof resolveTargetTls>): Promise<TargetTls> {
  const tls = await resolveTargetTls(...args);
  if (!tls) throw new Error('expected TLS material');
  resolved.push(tls);
  return tls;
}

async function refusal(promise: Promise<unknown>): Promise<CanaryError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(CanaryError);
  return error as CanaryError;
}

function through(dispatcher: Dispatcher): RequestInit {
  const init: RequestInitWithDispatcher = { dispatcher };
  return init;
}

function recordingLogger(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const logger: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (msg, fields) => warnings.push(`${msg} ${JSON.stringify(fields ?? {})}`),
    error: () => undefined,
    child: () => logger,
  };
  return { logger, warnings };
}

describe('resolveTargetTls, generated', () => {
  it('is off for undefined and false', async () => {
    expect(await resolveTargetTls(undefined, { host: '127.0.0.1' })).toBeUndefined();
    expect(await resolveTargetTls(false, { host: '127.0.0.1' })).toBeUndefined();
  });

  it('issues a certificate for the loopback names and the host, and writes the CA to a private file', async () => {
    const tls = await resolve(true, { host: 'canary.test' });
    expect(tls.generated).toBe(true);
    const leaf = new X509Certificate(tls.cert);
    expect(leaf.checkHost('canary.test')).toBe('canary.test');
    expect(leaf.checkIP('::1')).toBe('::1');
    expect(tls.fingerprint256).toBe(new X509Certificate(tls.caPem).fingerprint256);
    expect(tls.serverFingerprint256).toBe(leaf.fingerprint256);
    expect(fs.readFileSync(tls.caFile, 'utf8')).toBe(tls.caPem);
    expect(fs.statSync(tls.caFile).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(tls.caFile)).mode & 0o777).toBe(0o700);
    expect(tls.key).toContain('-----BEGIN PRIVATE KEY-----');
  });

  it('removes the CA directory, once, however often remove() is called', async () => {
    const tls = await resolve(true, { host: '127.0.0.1' });
    await Promise.all([tls.remove(), tls.remove()]);
    expect(fs.existsSync(path.dirname(tls.caFile))).toBe(false);
    await tls.remove();
  });

  it('warns that a wildcard listener is covered for loopback names only', async () => {
    const { logger, warnings } = recordingLogger();
    const tls = await resolve(true, { host: '0.0.0.0', logger });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('loopback names only');
    expect(warnings[0]).toContain('--tls-cert');
    expect(new X509Certificate(tls.cert).subjectAltName).not.toContain('0.0.0.0');
  });
});

describe('resolveTargetTls, given files', () => {
  const now = new Date();
  const issued = issueLocalCertificates({ names: ['canary.test'] });
  const other = issueLocalCertificates();
  const expired = issueLocalCertificates({ now: new Date(now.getTime() - 3 * DAY_MS), validForDays: 1 });
  const future = issueLocalCertificates({ now: new Date(now.getTime() + 3 * DAY_MS) });
  let certFile: string;
  let keyFile: string;

  beforeAll(() => {
    certFile = write('cert.pem', issued.certPem);
    keyFile = write('key.pem', issued.keyPem);
  });

  it('uses the files as they are; clients trust the certificate file itself', async () => {
    const tls = await resolve({ certFile, keyFile }, { host: 'canary.test' });
    expect(tls).toMatchObject({
      key: issued.keyPem,
      cert: issued.certPem,
      caPem: issued.certPem,
      caFile: certFile,
      generated: false,
    });
    const leaf = new X509Certificate(issued.certPem);
    expect(tls.fingerprint256).toBe(leaf.fingerprint256);
    expect(tls.serverFingerprint256).toBe(leaf.fingerprint256);
    await tls.remove();
    expect(fs.existsSync(certFile)).toBe(true);
    expect(fs.existsSync(keyFile)).toBe(true);
  });

  it('names the CA file by its absolute path when given a relative one', async () => {
    const relative = path.relative(process.cwd(), certFile);
    const tls = await resolve({ certFile: relative, keyFile }, { host: '127.0.0.1' });
    expect(tls.caFile).toBe(certFile);
  });

  it('needs both files', async () => {
    const noKey = await refusal(resolveTargetTls({ certFile }, { host: '127.0.0.1' }));
    expect(noKey.code).toBe('CLI_USAGE');
    expect(noKey.message).toBe('--tls-cert is given without --tls-key');
    expect(noKey.hint).toContain('--tls alone');
    const noCert = await refusal(resolveTargetTls({ keyFile }, { host: '127.0.0.1' }));
    expect(noCert.message).toBe('--tls-key is given without --tls-cert');
  });

  it('names each bad file and the fix', async () => {
    const missing = path.join(scratch, 'missing.pem');
    const text = write('notes.txt', 'not a certificate\n');
    const garbled = write('garbled.pem', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    const encrypted = write(
      'encrypted.pem',
      '-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n',
    );
    const otherKey = write('other-key.pem', other.keyPem);
    const expiredCert = write('expired-cert.pem', expired.certPem);
    const expiredKey = write('expired-key.pem', expired.keyPem);
    const futureCert = write('future-cert.pem', future.certPem);
    const futureKey = write('future-key.pem', future.keyPem);
    const cases: {
      files: { certFile: string; keyFile: string };
      host?: string;
      message: RegExp;
      hint: RegExp;
    }[] = [
      {
        files: { certFile: missing, keyFile },
        message: /^cannot read the TLS certificate file .*missing\.pem \(--tls-cert\): ENOENT$/,
        hint: /--tls-cert/,
      },
      {
        files: { certFile, keyFile: missing },
        message: /^cannot read the TLS private key file .*missing\.pem \(--tls-key\): ENOENT$/,
        hint: /--tls-key/,
      },
      {
        files: { certFile: text, keyFile },
        message: /notes\.txt \(--tls-cert\) is not a PEM certificate/,
        hint: /BEGIN CERTIFICATE/,
      },
      {
        files: { certFile: garbled, keyFile },
        message: /garbled\.pem \(--tls-cert\) is not a PEM certificate/,
        hint: /openssl x509/,
      },
      {
        files: { certFile, keyFile: text },
        message: /notes\.txt \(--tls-key\) is not a PEM private key/,
        hint: /BEGIN PRIVATE KEY/,
      },
      {
        files: { certFile, keyFile: certFile },
        message: /cert\.pem \(--tls-key\) is not a PEM private key/,
        hint: /BEGIN PRIVATE KEY/,
      },
      {
        files: { certFile, keyFile: encrypted },
        message: /encrypted\.pem \(--tls-key\) is an encrypted private key/,
        hint: /openssl pkey/,
      },
      {
        files: { certFile, keyFile: otherKey },
        message:
          /the key .*other-key\.pem \(--tls-key\) does not belong to the certificate .*cert\.pem \(--tls-cert\)/,
        hint: /openssl x509 -noout -pubkey/,
      },
      {
        files: { certFile: expiredCert, keyFile: expiredKey },
        message: /expired-cert\.pem \(--tls-cert\) expired on \d{4}-/,
        hint: /issue a new certificate, or use --tls alone/,
      },
      {
        files: { certFile: futureCert, keyFile: futureKey },
        message: /future-cert\.pem \(--tls-cert\) is not valid before \d{4}-/,
        hint: /clock/,
      },
      {
        files: { certFile, keyFile },
        host: 'other.test',
        message:
          /cert\.pem \(--tls-cert\) does not cover the listening host other\.test \(it names DNS:localhost, .*DNS:canary\.test\)/,
        hint: /subjectAltName DNS:other\.test, or pass a --host/,
      },
      {
        files: { certFile, keyFile },
        host: '127.0.0.2',
        message: /does not cover the listening host 127\.0\.0\.2/,
        hint: /subjectAltName IP:127\.0\.0\.2/,
      },
    ];
    for (const { files, host, message, hint } of cases) {
      const error = await refusal(resolveTargetTls(files, { host: host ?? '127.0.0.1', now }));
      expect(error.code, error.message).toBe('CLI_USAGE');
      expect(error.message).toMatch(message);
      expect(error.hint, error.message).toMatch(hint);
    }
  });

  it('only warns for a wildcard listener, naming what the certificate covers', async () => {
    const { logger, warnings } = recordingLogger();
    await resolve({ certFile, keyFile }, { host: '::', logger });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('DNS:canary.test');
  });
});

describe('the URL host', () => {
  it('brackets IPv6 addresses only', () => {
    expect(urlHost('::1')).toBe('[::1]');
    expect(urlHost('127.0.0.1')).toBe('127.0.0.1');
    expect(urlHost('localhost')).toBe('localhost');
  });

  it('replaces a wildcard with a loopback address the certificate covers, under TLS only', async () => {
    const tls = await resolve(true, { host: '0.0.0.0' });
    expect(advertisedHost('0.0.0.0', tls)).toBe('127.0.0.1');
    expect(advertisedHost('::', tls)).toBe('::1');
    expect(advertisedHost('127.0.0.1', tls)).toBe('127.0.0.1');
    expect(advertisedHost('0.0.0.0', undefined)).toBe('0.0.0.0');
  });
});

describe('CANARY_TARGET_TLS', () => {
  it('reads 1/true as on and 0/false/unset as off, and refuses anything else naming the variable', () => {
    expect(tlsFromEnvironment({ CANARY_TARGET_TLS: '1' })).toBe(true);
    expect(tlsFromEnvironment({ CANARY_TARGET_TLS: 'TRUE' })).toBe(true);
    expect(tlsFromEnvironment({ CANARY_TARGET_TLS: '0' })).toBe(false);
    expect(tlsFromEnvironment({ CANARY_TARGET_TLS: '' })).toBe(false);
    expect(tlsFromEnvironment({})).toBe(false);
    expect(() => tlsFromEnvironment({ CANARY_TARGET_TLS: 'yes please' })).toThrow(
      /CANARY_TARGET_TLS is "yes please", not 1 or 0/,
    );
  });
});

describe('createSelfDispatcher', () => {
  /** An https server presenting `cert` on `host`; returns its port and a closer. */
  async function serve(
    cert: string,
    key: string,
    host = '127.0.0.1',
  ): Promise<{ port: number; close: () => Promise<void> }> {
    const server = https.createServer({ cert, key }, (_request, response) => response.end('ok'));
    await new Promise<void>((done) => server.listen(0, host, done));
    return {
      port: (server.address() as AddressInfo).port,
      close: () =>
        new Promise<void>((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
    };
  }

  it('reaches the target by any name, and refuses a certificate from another CA', async () => {
    const tls = await resolve(true, { host: '127.0.0.1' });
    const dispatcher = createSelfDispatcher(tls);
    // 127.0.0.2 is loopback too, but not in the certificate: the pin, not the name, decides.
    const own = await serve(tls.cert, tls.key, '127.0.0.2');
    try {
      expect(new X509Certificate(tls.cert).checkIP('127.0.0.2')).toBeUndefined();
      const response = await fetch(`https://127.0.0.2:${own.port}/`, through(dispatcher));
      expect(await response.text()).toBe('ok');
    } finally {
      await own.close();
    }
    // A certificate from another CA fails the chain check before the pin is even looked at.
    const stranger = issueLocalCertificates();
    const foreign = await serve(stranger.certPem, stranger.keyPem);
    try {
      const failure = await fetch(`https://127.0.0.1:${foreign.port}/`, through(dispatcher)).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(TypeError);
      expect(String((failure as TypeError & { cause?: unknown }).cause)).toMatch(/certificate/i);
    } finally {
      await foreign.close();
      await dispatcher.close();
    }
  });

  it('trusts the given certificate file and refuses a server whose certificate is not the pinned one', async () => {
    const issued = issueLocalCertificates();
    const certFile = write('pinned-cert.pem', issued.certPem);
    const keyFile = write('pinned-key.pem', issued.keyPem);
    const tls = await resolve({ certFile, keyFile }, { host: '127.0.0.1' });
    const dispatcher = createSelfDispatcher(tls);
    const own = await serve(issued.certPem, issued.keyPem);
    try {
      const response = await fetch(`https://127.0.0.1:${own.port}/`, through(dispatcher));
      expect(await response.text()).toBe('ok');
    } finally {
      await own.close();
      await dispatcher.close();
    }
    // Same trust (the chain verifies) but a different pin: the identity check refuses it.
    const pinnedElsewhere = createSelfDispatcher({ ...tls, serverFingerprint256: 'AA:BB' });
    const again = await serve(issued.certPem, issued.keyPem);
    try {
      const failure = await fetch(`https://127.0.0.1:${again.port}/`, through(pinnedElsewhere)).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(String((failure as TypeError & { cause?: unknown }).cause)).toMatch(/not its own certificate/);
    } finally {
      await again.close();
      await pinnedElsewhere.close();
    }
  });
});
