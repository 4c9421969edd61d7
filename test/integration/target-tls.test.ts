/**
 * A local target serving TLS: https:// and wss:// on one port, clients trusting its CA through an
 * undici Agent or `ws`'s `ca`, the waiver endpoint's REST broadcast reaching the target over TLS,
 * the CA's temp directory gone after stop(), IPv6 loopback, and the user's own certificate files
 * (with every way they can be wrong refused before Postgres starts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CanaryError } from '../../src/shared/index.js';
import { startTarget, type LocalTarget } from '../../src/local-target/index.js';
import { issueLocalCertificates } from '../../src/local-target/tls/certificates.js';
import { through, withTarget } from '../helpers/target.js';
import { waitFor, wsUrl } from './realtime-support.js';

const DAY_MS = 24 * 3_600_000;

interface Frame {
  topic?: string;
  event?: string;
  ref?: string | null;
  payload?: { status?: string; event?: string; payload?: Record<string, unknown> };
}

/** A vsn 1.0.0 socket trusting `ca`, joined to the public broadcast topic of `channel`. */
async function joinBroadcast(
  target: LocalTarget,
  ca: string,
  channel: string,
): Promise<{ ws: WebSocket; frames: Frame[]; joinReply: Frame }> {
  const ws = new WebSocket(wsUrl(target.url, { apikey: target.anonKey, vsn: '1.0.0' }), { ca });
  const frames: Frame[] = [];
  ws.on('message', (data) => frames.push(JSON.parse(String(data)) as Frame));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const topic = `realtime:${channel}`;
  ws.send(
    JSON.stringify({
      topic,
      event: 'phx_join',
      ref: '1',
      join_ref: '1',
      payload: { config: { broadcast: { self: false }, private: false } },
    }),
  );
  const joinReply = await waitFor(
    () => frames.find((frame) => frame.event === 'phx_reply' && frame.ref === '1'),
    `the join reply on ${topic}`,
  );
  return { ws, frames, joinReply };
}

async function closeSocket(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return;
  await new Promise<void>((resolve) => {
    ws.once('close', () => resolve());
    ws.close();
  });
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error,
  );
}

describe('a TLS target with a certificate made for the run', () => {
  const target = withTarget({ tls: true });
  let trusting: Agent;

  beforeAll(() => {
    trusting = new Agent({ connect: { ca: target.current.tls?.caPem } });
  });
  afterAll(async () => {
    await trusting.close();
  });

  it('serves /healthz and PostgREST over https to a client that trusts its CA', async () => {
    const { url, port, tls } = target.current;
    expect(url).toBe(`https://127.0.0.1:${port}`);
    expect(tls?.caPem).toContain('-----BEGIN CERTIFICATE-----');
    expect(fs.readFileSync(tls?.caFile ?? '', 'utf8')).toBe(tls?.caPem);
    expect(tls?.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);

    const health = await fetch(`${url}/healthz`, through(trusting));
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    const mechanic = await target.current.createMechanic({ name: 'TLS reader' });
    const rows = await fetch(
      `${url}/rest/v1/mechanics?select=id,name&id=eq.${mechanic.id}`,
      through(trusting, {
        headers: { apikey: target.current.anonKey, Authorization: `Bearer ${mechanic.token}` },
      }),
    );
    expect(rows.status).toBe(200);
    expect(await rows.json()).toEqual([{ id: mechanic.id, name: 'TLS reader' }]);
  });

  it('refuses a client that does not trust the CA with a certificate error', async () => {
    const failure = await failureOf(fetch(`${target.current.url}/healthz`));
    expect(failure).toBeInstanceOf(TypeError);
    const cause = (failure as { cause?: { code?: string; message?: string } }).cause;
    expect(`${cause?.code} ${cause?.message}`).toMatch(/CERT|certificate/);
  });

  it('accepts wss:// on the same port and answers a broadcast join with ok', async () => {
    const { ws, joinReply } = await joinBroadcast(
      target.current,
      target.current.tls?.caPem ?? '',
      'tls-join',
    );
    try {
      expect(joinReply).toMatchObject({ topic: 'realtime:tls-join', payload: { status: 'ok' } });
    } finally {
      await closeSocket(ws);
    }
  });

  it('refuses wss:// from a client that does not trust the CA', async () => {
    const ws = new WebSocket(wsUrl(target.current.url, { apikey: target.current.anonKey, vsn: '1.0.0' }));
    const error = await new Promise<Error>((resolve) => ws.once('error', resolve));
    expect(error.message).toMatch(/certificate/);
  });

  it('still broadcasts new_assignment from the waiver endpoint: the target reaches itself over TLS', async () => {
    const { ws, frames } = await joinBroadcast(
      target.current,
      target.current.tls?.caPem ?? '',
      target.current.broadcastChannel,
    );
    try {
      const response = await fetch(
        `${target.current.url}/api/waiver`,
        through(trusting, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ sessionType: 'paid', metadata: { synthetic: true } }),
        }),
      );
      expect(response.status).toBe(201);
      const waiver = (await response.json()) as { assignmentId: string; broadcast: string };
      expect(waiver.broadcast).toBe('ok');
      const announced = await waitFor(
        () => frames.find((frame) => frame.event === 'broadcast'),
        'new_assignment on the broadcast channel',
      );
      expect(announced.payload).toMatchObject({
        event: 'new_assignment',
        payload: { assignmentId: waiver.assignmentId, status: 'queued' },
      });
    } finally {
      await closeSocket(ws);
    }
  });
});

describe('starting and stopping TLS targets', () => {
  let scratch: string;
  beforeAll(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-target-tls-test-'));
  });
  afterAll(() => {
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  function write(name: string, text: string): string {
    const file = path.join(scratch, name);
    fs.writeFileSync(file, text);
    return file;
  }

  const ipv6Loopback = Object.values(os.networkInterfaces()).some((addresses) =>
    (addresses ?? []).some((address) => address.address === '::1'),
  );

  it.skipIf(!ipv6Loopback)(
    'listens on ::1 as https://[::1]:port and removes its CA directory on stop()',
    async () => {
      const target = await startTarget({ host: '::1', tls: true });
      const caDirectory = path.dirname(target.tls?.caFile ?? '');
      const agent = new Agent({ connect: { ca: target.tls?.caPem } });
      try {
        expect(target.url).toBe(`https://[::1]:${target.port}`);
        expect(fs.statSync(caDirectory).mode & 0o777).toBe(0o700);
        const health = await fetch(`${target.url}/healthz`, through(agent));
        expect(health.status).toBe(200);
        const { ws, joinReply } = await joinBroadcast(target, target.tls?.caPem ?? '', 'tls-ipv6');
        expect(joinReply.payload?.status).toBe('ok');
        await closeSocket(ws);
      } finally {
        await agent.close();
        await target.stop();
      }
      expect(fs.existsSync(caDirectory)).toBe(false);
    },
  );

  it('on every interface, advertises a loopback URL the certificate covers and still broadcasts', async () => {
    const target = await startTarget({ host: '0.0.0.0', tls: true });
    const agent = new Agent({ connect: { ca: target.tls?.caPem } });
    try {
      expect(target.url).toBe(`https://127.0.0.1:${target.port}`);
      const waiver = await fetch(
        `${target.url}/api/waiver`,
        through(agent, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ sessionType: 'paid' }),
        }),
      );
      expect(((await waiver.json()) as { broadcast: string }).broadcast).toBe('ok');
    } finally {
      await agent.close();
      await target.stop();
    }
  });

  it('serves the given certificate and key, names the certificate file as what to trust, and leaves both files', async () => {
    const issued = issueLocalCertificates({ names: ['canary.test'] });
    const certFile = write('cert.pem', issued.certPem);
    const keyFile = write('key.pem', issued.keyPem);
    const target = await startTarget({ tls: { certFile, keyFile } });
    const agent = new Agent({ connect: { ca: fs.readFileSync(certFile, 'utf8') } });
    try {
      expect(target.url).toBe(`https://127.0.0.1:${target.port}`);
      expect(target.tls?.caFile).toBe(certFile);
      expect(target.tls?.caPem).toBe(issued.certPem);
      const health = await fetch(`${target.url}/healthz`, through(agent));
      expect(health.status).toBe(200);
      const waiver = await fetch(
        `${target.url}/api/waiver`,
        through(agent, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ sessionType: 'paid' }),
        }),
      );
      expect(((await waiver.json()) as { broadcast: string }).broadcast).toBe('ok');
    } finally {
      await agent.close();
      await target.stop();
    }
    expect(fs.existsSync(certFile)).toBe(true);
    expect(fs.existsSync(keyFile)).toBe(true);
  });

  it('refuses each bad certificate or key file with CLI_USAGE naming the file, before anything starts', async () => {
    const issued = issueLocalCertificates();
    const certFile = write('good-cert.pem', issued.certPem);
    const keyFile = write('good-key.pem', issued.keyPem);
    const expired = issueLocalCertificates({ now: new Date(Date.now() - 3 * DAY_MS), validForDays: 1 });
    const cases: { tls: { certFile?: string; keyFile?: string }; host?: string; message: RegExp }[] = [
      { tls: { certFile }, message: /--tls-cert is given without --tls-key/ },
      {
        tls: { certFile: path.join(scratch, 'absent.pem'), keyFile },
        message: /cannot read the TLS certificate file .*absent\.pem \(--tls-cert\): ENOENT/,
      },
      {
        tls: { certFile: write('readme.txt', 'hello\n'), keyFile },
        message: /readme\.txt \(--tls-cert\) is not a PEM certificate/,
      },
      {
        tls: { certFile, keyFile: certFile },
        message: /good-cert\.pem \(--tls-key\) is not a PEM private key/,
      },
      {
        tls: { certFile, keyFile: write('stranger-key.pem', issueLocalCertificates().keyPem) },
        message: /stranger-key\.pem \(--tls-key\) does not belong to the certificate/,
      },
      {
        tls: {
          certFile: write('old-cert.pem', expired.certPem),
          keyFile: write('old-key.pem', expired.keyPem),
        },
        message: /old-cert\.pem \(--tls-cert\) expired on/,
      },
      {
        tls: { certFile, keyFile },
        host: '127.0.0.2',
        message: /good-cert\.pem \(--tls-cert\) does not cover the listening host 127\.0\.0\.2/,
      },
    ];
    for (const { tls, host, message } of cases) {
      const started = performance.now();
      const error = await startTarget({ tls, host }).then(
        async (target) => {
          await target.stop();
          throw new Error(`expected ${JSON.stringify(tls)} to be refused`);
        },
        (reason: unknown) => reason,
      );
      expect(error).toBeInstanceOf(CanaryError);
      expect((error as CanaryError).code).toBe('CLI_USAGE');
      expect((error as CanaryError).message).toMatch(message);
      expect((error as CanaryError).hint).toBeTruthy();
      // Refused before Postgres: far quicker than a start.
      expect(performance.now() - started).toBeLessThan(2_000);
    }
  });
});
