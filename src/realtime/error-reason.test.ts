import { describe, expect, it } from 'vitest';
import { mapErrorReason } from './error-reason.js';
import type { ErrorReason } from './types.js';

// Texts are the exact strings Supabase Realtime and realtime-js produce (wire protocol §1.2, §1.5, §3.3, §3.4, §7).
const cases: [input: unknown, expected: ErrorReason][] = [
  ['InvalidJWTToken: Token has expired 5 seconds ago', 'auth'],
  ['InvalidJWTToken: Fields `role` and `exp` are required in JWT', 'auth'],
  ['MalformedJWT: The token provided is not a valid JWT', 'auth'],
  ['JwtSignatureError: Failed to validate JWT signature', 'auth'],
  ['HTTP 401: Token has expired', 'auth'],
  ['HTTP 401', 'auth'],
  ['API key is missing', 'auth'],
  ['Token has expired 12 seconds ago', 'auth'],
  ['Unauthorized: You do not have permissions to read from this Channel topic: room1', 'unauthorized'],
  ['You no longer have permission to read from this Channel topic: room1', 'unauthorized'],
  ['PrivateOnly: This project only allows private channels', 'unauthorized'],
  ['ClientJoinRateLimitReached: Too many joins per second', 'rate_limit'],
  ['HTTP 429: Too many joins per second', 'rate_limit'],
  ['Too many messages per second', 'rate_limit'],
  ['Too many presence messages per second', 'rate_limit'],
  ['ConnectionRateLimitReached: Too many connected users', 'connection_limit'],
  ['HTTP 429: Too many connected users', 'connection_limit'],
  ['HTTP 429', 'connection_limit'],
  ['ChannelRateLimitReached: Too many channels', 'connection_limit'],
  ['transport failure: self-signed certificate in certificate chain', 'tls'],
  ['transport failure: unable to verify the first certificate', 'tls'],
  [
    "transport failure: Hostname/IP does not match certificate's altnames: IP: 10.0.0.1 is not in the cert's list",
    'tls',
  ],
  ['transport failure: certificate has expired', 'tls'],
  [
    'transport failure: write EPROTO 80C8…:error:0A00010B:SSL routines:ssl3_get_record:wrong version number',
    'tls',
  ],
  ['socket closed: 1006', 'transport'],
  ['socket closed: 1000 (heartbeat timeout)', 'transport'],
  ['channel error: transport failure', 'transport'],
  ['heartbeat timeout', 'transport'],
  [new Error('connect ECONNREFUSED 127.0.0.1:5'), 'transport'],
  ['join timed out after 10000 ms', 'timeout'],
  ['timed out', 'timeout'],
  ['mismatch between server and client bindings for postgres changes', 'binding_mismatch'],
  ['RealtimeRestarting: Realtime is restarting, please standby', 'server'],
  ['TenantNotFound: Tenant not found', 'server'],
  ['UnknownErrorOnChannel: boom', 'server'],
  ['HTTP 500: Error connecting to Realtime', 'server'],
  [
    'Unable to subscribe to changes with given parameters. Please check Realtime is enabled for the given connect parameters: [event: INSERT, schema: public, table: t, filters: []]',
    'server',
  ],
  ['channel closed by server (phx_close)', 'closed'],
  [{ reason: 'ConnectionRateLimitReached: Too many connected users' }, 'connection_limit'],
  [{ message: 'MalformedJWT: The token provided is not a valid JWT' }, 'auth'],
  [new Error('mismatch between server and client bindings for postgres changes'), 'binding_mismatch'],
  ['something nobody has seen before', 'other'],
  [undefined, 'other'],
  [null, 'other'],
  ['', 'other'],
];

describe('mapErrorReason', () => {
  it.each(cases)('maps %j to %s', (input, expected) => {
    expect(mapErrorReason(input)).toBe(expected);
  });
});
