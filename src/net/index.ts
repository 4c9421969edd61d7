/**
 * Net: how the harness reaches a project — which certificate authorities it trusts, one shared
 * TLS context per trust, TLS session resumption, a fetch and websocket connections built from
 * them, and the timing of each connection's TCP, TLS and upgrade phases. Imports only shared.
 */
export * from './tls-trust.js';
export * from './project-transport.js';
export * from './connection-timing.js';
