import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { issueLocalCertificates } from '../local-target/tls/certificates.js';
import { phasesOf } from './connection-timing.js';
import { ProjectTransport, socketStamps } from './project-transport.js';
import { TlsTrust } from './tls-trust.js';

const certificates = issueLocalCertificates();
let server: https.Server;
let sockets: WebSocketServer;
let port = 0;
let dir = '';

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-net-'));
  server = https.createServer(
    { key: certificates.keyPem, cert: certificates.certPem },
    (_request, response) => response.end('ok'),
  );
  sockets = new WebSocketServer({ server });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  sockets.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(dir, { recursive: true, force: true });
});

function open(
  transport: ProjectTransport,
  url: string,
): Promise<{ socket: WebSocket; stamps: ReturnType<typeof socketStamps>; openedAt: number }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { createConnection: transport.createConnectionFor(url) });
    let stamps: ReturnType<typeof socketStamps>;
    socket.once('upgrade', (response) => {
      stamps = socketStamps(response.socket);
    });
    socket.once('open', () => resolve({ socket, stamps, openedAt: performance.now() }));
    socket.once('error', reject);
  });
}

async function closed(socket: WebSocket): Promise<void> {
  await new Promise((resolve) => {
    socket.once('close', resolve);
    socket.close();
  });
}

describe('TlsTrust', () => {
  it('is one instance (one SecureContext) per distinct CA set', () => {
    const a = TlsTrust.of({ caPems: [certificates.caPem] });
    const b = TlsTrust.of({ caPems: [certificates.caPem] });
    expect(a).toBe(b);
    expect(a.secureContext).toBe(b.secureContext);
    expect(TlsTrust.system()).not.toBe(a);
    expect(TlsTrust.system().id).toBe('');
  });

  it('names the file and the fix for a missing or non-PEM CA file', () => {
    expect(() =>
      TlsTrust.of({ caFiles: [path.join(dir, 'absent.pem')], source: 'envs/a.yaml: tls.caFile' }),
    ).toThrow(/cannot read the CA file .*absent\.pem \(envs\/a\.yaml: tls\.caFile\): ENOENT/);
    const junk = path.join(dir, 'junk.pem');
    fs.writeFileSync(junk, 'not a certificate');
    expect(() => TlsTrust.of({ caFiles: [junk] })).toThrow(/holds no PEM certificate/);
  });
});

describe('ProjectTransport over TLS', () => {
  it('opens wss with the trusted CA, stamps tcp → tls → upgrade, and resumes the session next time', async () => {
    const caFile = path.join(dir, 'ca.pem');
    fs.writeFileSync(caFile, certificates.caPem);
    const transport = new ProjectTransport({ trust: TlsTrust.of({ caFiles: [caFile] }) });
    const url = `wss://127.0.0.1:${port}/`;
    const first = await open(transport, url);
    expect(first.stamps?.connectedAt).toBeGreaterThanOrEqual(first.stamps?.startedAt ?? Infinity);
    expect(first.stamps?.secureAt).toBeGreaterThanOrEqual(first.stamps?.connectedAt ?? Infinity);
    expect(first.stamps?.resumed).toBe(false);
    const phases = phasesOf(first.stamps ?? { startedAt: 0 }, first.openedAt);
    expect(phases.map((phase) => phase.phase)).toEqual(['tcp', 'tls', 'upgrade']);
    for (const phase of phases) expect(phase.ms).toBeGreaterThanOrEqual(0);
    // TLS 1.3 tickets arrive after the handshake: wait for one before reconnecting.
    await expect.poll(() => transport.cachedSessions).toBe(1);
    await closed(first.socket);

    const second = await open(transport, url);
    expect(second.stamps?.resumed).toBe(true);
    await closed(second.socket);
    await transport.close();
  });

  it('listens for sessions on one socket per host at a time, and the others still resume', async () => {
    const transport = new ProjectTransport({ trust: TlsTrust.of({ caPems: [certificates.caPem] }) });
    const url = `wss://localhost:${port}/`;
    const listeners: number[] = [];
    const counting = (options: Parameters<ReturnType<ProjectTransport['createConnectionFor']>>[0]) => {
      const socket = transport.connectTls(options);
      listeners.push(socket.listenerCount('session'));
      return socket;
    };
    const openCounted = (): Promise<{ socket: WebSocket; resumed: boolean | undefined }> =>
      new Promise((resolve, reject) => {
        const socket = new WebSocket(url, { createConnection: counting });
        let resumed: boolean | undefined;
        socket.once('upgrade', (response) => {
          resumed = socketStamps(response.socket)?.resumed;
        });
        socket.once('open', () => resolve({ socket, resumed }));
        socket.once('error', reject);
      });
    // Five at once: only the first asks Node for the server's tickets.
    const first = await Promise.all(Array.from({ length: 5 }, openCounted));
    expect(listeners).toEqual([1, 0, 0, 0, 0]);
    await expect.poll(() => transport.cachedSessions).toBe(1);
    // With a fresh session cached, a later socket does not listen, and it resumes that session.
    const later = await openCounted();
    expect(listeners).toEqual([1, 0, 0, 0, 0, 0]);
    expect(later.resumed).toBe(true);
    await Promise.all([...first, later].map((opened) => closed(opened.socket)));
    await transport.close();
  });

  it('does not resume when resumption is off', async () => {
    const transport = new ProjectTransport({
      trust: TlsTrust.of({ caPems: [certificates.caPem] }),
      resumeSessions: false,
    });
    const url = `wss://localhost:${port}/`;
    for (let i = 0; i < 2; i++) {
      const opened = await open(transport, url);
      expect(opened.stamps?.resumed).toBe(false);
      await closed(opened.socket);
    }
    expect(transport.cachedSessions).toBe(0);
  });

  it('refuses a server whose CA it does not trust', async () => {
    const transport = new ProjectTransport();
    await expect(open(transport, `wss://127.0.0.1:${port}/`)).rejects.toThrow(/self[- ]signed certificate/i);
  });

  it('fetches over https with the same trust', async () => {
    const transport = new ProjectTransport({ trust: TlsTrust.of({ caPems: [certificates.caPem] }) });
    const response = await transport.fetch(`https://localhost:${port}/`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('ok');
    await expect(new ProjectTransport().fetch(`https://localhost:${port}/`)).rejects.toThrow(/fetch failed/);
    await transport.close();
  });
});
