/**
 * The socket floors' server process: servers that accept connections and only hold them, so the
 * client side of a floor measures what a socket alone costs. Plain TCP, TLS (a certificate from
 * issueLocalCertificates: ECDSA P-256, TLS 1.2 and 1.3, session tickets on, as Node serves by
 * default), and `ws` over each (an http and an https server with a WebSocketServer).
 *
 * Started by bench/subscribers.ts over IPC; replies once with its ports and CA, then holds until
 * told to stop or its parent goes. Not meant to be run by hand.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { issueLocalCertificates } from '../src/local-target/tls/certificates.js';
import type { FloorServerReply } from './bench-common.js';

const certificates = issueLocalCertificates();
const held = new Set<net.Socket | tls.TLSSocket>();

function hold(socket: net.Socket): void {
  held.add(socket);
  socket.on('error', () => undefined);
  socket.once('close', () => held.delete(socket));
  // Data is not expected; whatever comes is dropped.
  socket.resume();
}

const tcpServer = net.createServer(hold);
const tlsServer = tls.createServer({ key: certificates.keyPem, cert: certificates.certPem }, hold);
tlsServer.on('tlsClientError', () => undefined);
const httpServer = http.createServer((_request, response) => response.end());
const httpsServer = https.createServer(
  { key: certificates.keyPem, cert: certificates.certPem },
  (_request, response) => response.end(),
);
httpsServer.on('tlsClientError', () => undefined);
const wsServers = [httpServer, httpsServer].map((server) => {
  const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: true });
  wss.on('connection', (socket) => socket.on('error', () => undefined));
  return wss;
});

const servers: net.Server[] = [tcpServer, tlsServer, httpServer, httpsServer];
await Promise.all(
  servers.map(
    (server) =>
      new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve)),
  ),
);
const port = (server: net.Server): number => (server.address() as AddressInfo).port;

async function stop(): Promise<void> {
  for (const socket of held) socket.destroy();
  for (const wss of wsServers) for (const client of wss.clients) client.terminate();
  for (const server of [httpServer, httpsServer]) server.closeAllConnections();
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  process.exit(0);
}

process.on('message', (command: { kind: string }) => {
  if (command.kind === 'stats') {
    const wsHeld = wsServers.reduce((sum, wss) => sum + wss.clients.size, 0);
    process.send?.({ kind: 'stats', connections: held.size + wsHeld, channels: 0 });
  } else void stop();
});
process.on('disconnect', () => void stop());

const ready: FloorServerReply = {
  kind: 'floor-ready',
  tcpPort: port(tcpServer),
  tlsPort: port(tlsServer),
  wsPort: port(httpServer),
  wssPort: port(httpsServer),
  caPem: certificates.caPem,
};
process.send?.(ready);
