/**
 * The local target's own metrics (served at the target's GET /metrics), so tests can compare
 * what the harness measured with what the target really did and what was injected.
 * These describe the target, not the harness, so they live here and not in src/metrics.
 */
import { Counter, Gauge, Registry } from 'prom-client';

export const TARGET_PATHS = [
  'postgres_changes',
  'broadcast',
  'rest_broadcast',
  'polling',
  'presence',
] as const;
export type TargetPath = (typeof TARGET_PATHS)[number];

export interface TargetMetrics {
  readonly registry: Registry;
  /** Messages the target wrote to a socket (or served, for polling), per path. */
  readonly deliveries: Counter<'path'>;
  /** Faults the target injected, by kind and path. */
  readonly faultsInjected: Counter<'fault' | 'path'>;
  /** WAL changes decoded from the replication slot, by table and operation. */
  readonly walChanges: Counter<'table' | 'op'>;
  /** Open websocket connections. */
  readonly connections: Gauge;
  /** Joined channels across all connections. */
  readonly channels: Gauge;
  /** Refused upgrades and joins, by reason (Supabase's error text mapped to a short reason). */
  readonly refusals: Counter<'stage' | 'reason'>;
  /** Bytes of WAL not yet confirmed by the target's replication slot. */
  readonly replicationLagBytes: Gauge;
  /** Protocol errors answered (bad frames, unknown events, oversize payloads). */
  readonly protocolErrors: Counter<'kind'>;
  /** Successful /auth/v1 password sign-ins (and the in-process ones createMechanic makes). */
  readonly authSignIns: Counter;
  /** Successful refresh_token grants. */
  readonly authRefreshes: Counter;
  /** /auth/v1 requests answered with an error, by grant (or endpoint) and Supabase error code. */
  readonly authFailures: Counter<'grant' | 'reason'>;
  /** Tokens the one verifier refused, by the component that asked and why. */
  readonly tokensRefused: Counter<'component' | 'reason'>;
  /** Signing keys made current after the first (rotations), by trigger (admin or fault). */
  readonly signingKeyRotations: Counter<'trigger'>;
}

export function createTargetMetrics(registry: Registry = new Registry()): TargetMetrics {
  const registers = [registry];
  return {
    registry,
    deliveries: new Counter({
      name: 'target_deliveries_total',
      help: 'Messages the local target delivered, per path.',
      labelNames: ['path'],
      registers,
    }),
    faultsInjected: new Counter({
      name: 'target_faults_injected_total',
      help: 'Faults the local target injected, by kind and path.',
      labelNames: ['fault', 'path'],
      registers,
    }),
    walChanges: new Counter({
      name: 'target_wal_changes_total',
      help: 'Row changes decoded from the logical replication slot.',
      labelNames: ['table', 'op'],
      registers,
    }),
    connections: new Gauge({
      name: 'target_connections',
      help: 'Open Realtime websocket connections.',
      registers,
    }),
    channels: new Gauge({ name: 'target_channels', help: 'Joined Realtime channels.', registers }),
    refusals: new Counter({
      name: 'target_refusals_total',
      help: 'Refused websocket upgrades and channel joins, by stage and reason.',
      labelNames: ['stage', 'reason'],
      registers,
    }),
    replicationLagBytes: new Gauge({
      name: 'target_replication_lag_bytes',
      help: 'WAL bytes written but not yet confirmed by the target replication slot.',
      registers,
    }),
    protocolErrors: new Counter({
      name: 'target_protocol_errors_total',
      help: 'Malformed or refused client frames answered with an error.',
      labelNames: ['kind'],
      registers,
    }),
    authSignIns: new Counter({
      name: 'target_auth_sign_ins_total',
      help: 'Successful password sign-ins on the local target.',
      registers,
    }),
    authRefreshes: new Counter({
      name: 'target_auth_refreshes_total',
      help: 'Successful refresh_token grants on the local target.',
      registers,
    }),
    authFailures: new Counter({
      name: 'target_auth_failures_total',
      help: 'Auth requests answered with an error, by grant or endpoint and Supabase error code.',
      labelNames: ['grant', 'reason'],
      registers,
    }),
    tokensRefused: new Counter({
      name: 'target_auth_tokens_refused_total',
      help: 'Tokens and API keys refused by the target verifier, by component and reason.',
      labelNames: ['component', 'reason'],
      registers,
    }),
    signingKeyRotations: new Counter({
      name: 'target_auth_signing_key_rotations_total',
      help: 'Signing keys made current on the running target, by trigger (admin, fault).',
      labelNames: ['trigger'],
      registers,
    }),
  };
}
