/**
 * Readiness from the status snapshot: the harness is ready to be trusted once every configured
 * environment has at least one subscriber SUBSCRIBED and has finished its first probe round.
 * Before that, metrics exist but say nothing yet, and an orchestrator should wait.
 */
import type { StatusSnapshot } from './status-snapshot.js';

export interface Readiness {
  ready: boolean;
  /** Why not ready, one line per environment; empty when ready. */
  reasons: string[];
}

export function judgeReadiness(snapshot: StatusSnapshot): Readiness {
  if (snapshot.environments.length === 0) {
    return { ready: false, reasons: ['no environment is being probed yet'] };
  }
  const reasons: string[] = [];
  for (const environment of snapshot.environments) {
    const subscribed = environment.probes
      .flatMap((probe) => probe.subscribers)
      .reduce((sum, group) => sum + (group.byStatus.SUBSCRIBED ?? 0), 0);
    const rounds = environment.probes.reduce((sum, probe) => sum + probe.roundsCompleted, 0);
    if (subscribed === 0) reasons.push(`environment ${environment.name}: no subscriber is SUBSCRIBED yet`);
    if (rounds === 0) reasons.push(`environment ${environment.name}: first probe round not finished yet`);
  }
  return { ready: reasons.length === 0, reasons };
}
