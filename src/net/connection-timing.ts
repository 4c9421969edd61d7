/**
 * The phases of opening a Realtime connection, timed separately so a slow TLS edge is not
 * mistaken for a slow join: TCP connect, TLS handshake (wss only), websocket upgrade, channel join.
 * time to SUBSCRIBED ≈ tcp + tls + upgrade + join.
 */
export type ConnectionPhase = 'tcp' | 'tls' | 'upgrade' | 'join';

export const CONNECTION_PHASES: readonly ConnectionPhase[] = ['tcp', 'tls', 'upgrade', 'join'];

export interface PhaseTiming {
  phase: ConnectionPhase;
  ms: number;
  /** tls only: whether the handshake resumed an earlier session (no certificate exchange). */
  resumed?: boolean;
}

/** Stamps a connection carries from its first byte to the upgrade (performance.now() ms). */
export interface SocketStamps {
  startedAt: number;
  connectedAt?: number;
  secureAt?: number;
  resumed?: boolean;
}

/** The tcp / tls / upgrade phases of one connection whose upgrade completed at `openedAt`. */
export function phasesOf(stamps: SocketStamps, openedAt: number): PhaseTiming[] {
  const phases: PhaseTiming[] = [];
  const connectedAt = stamps.connectedAt ?? stamps.startedAt;
  phases.push({ phase: 'tcp', ms: connectedAt - stamps.startedAt });
  let upgradeFrom = connectedAt;
  if (stamps.secureAt !== undefined) {
    phases.push({ phase: 'tls', ms: stamps.secureAt - connectedAt, resumed: stamps.resumed === true });
    upgradeFrom = stamps.secureAt;
  }
  phases.push({ phase: 'upgrade', ms: Math.max(0, openedAt - upgradeFrom) });
  return phases;
}
