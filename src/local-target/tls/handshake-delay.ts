/**
 * The slow-TLS-edge fault: each new connection to a target serving TLS is held for
 * `tlsHandshakeDelayMs` before the TLS server sees it, so the client's handshake (not its upgrade
 * or join) takes that much longer — what a loaded TLS terminator looks like from the canary.
 */
import type net from 'node:net';
import type tls from 'node:tls';
import type { FaultController } from '../components.js';

type ConnectionListener = (socket: net.Socket) => void;

export function delayTlsHandshakes(server: tls.Server, faults: FaultController): void {
  // The TLS server's own listener wraps the raw socket; it runs later, with the socket's buffered
  // ClientHello handed over (Node feeds bytes read before the wrap into the TLS layer).
  const handshake = server.listeners('connection') as ConnectionListener[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: net.Socket) => {
    const delayMs = faults.current.tlsHandshakeDelayMs;
    if (delayMs <= 0) {
      for (const listener of handshake) listener.call(server, socket);
      return;
    }
    faults.record('tls_handshake_delay', 'connection');
    const timer = setTimeout(() => {
      if (!socket.destroyed) for (const listener of handshake) listener.call(server, socket);
    }, delayMs);
    socket.once('close', () => clearTimeout(timer));
  });
}
