/**
 * The `auth.keyRotation` fault: signing-key rotation mid-run. Every `everyMs` a new ES256 key is
 * added and made current at once (no standby period), and the key it replaced is revoked
 * `overlapMs` later — tokens it signed are refused everywhere from then on, as after a real
 * rotation whose overlap was too short for clients to refresh. The legacy HS256 secret is never
 * revoked by the fault (that would also revoke the legacy API keys); it only stops being current.
 */
import type { FaultController, TargetContext } from '../components.js';
import type { FaultSettings } from '../faults/fault-settings.js';
import type { SigningKeyControl } from './signing-key-routes.js';

export function armKeyRotationFault(
  ctx: Pick<TargetContext, 'logger'> & { faults: FaultController },
  control: SigningKeyControl,
): () => void {
  let ticker: NodeJS.Timeout | null = null;
  let armedEveryMs = 0;
  const revokeTimers = new Set<NodeJS.Timeout>();
  let stopped = false;

  const rotate = async (overlapMs: number): Promise<void> => {
    const previous = control.list().find((key) => key.state === 'current');
    const kid = await control.addStandby();
    if (stopped) return;
    control.makeCurrent(kid);
    ctx.faults.record('key_rotation', 'auth');
    if (!previous || previous.algorithm !== 'ES256') return;
    const revoke = (): void => {
      const still = control.list().find((key) => key.kid === previous.kid);
      if (still && still.state === 'previously_used') control.revoke(previous.kid);
    };
    if (overlapMs === 0) {
      revoke();
      return;
    }
    const timer = setTimeout(() => {
      revokeTimers.delete(timer);
      revoke();
    }, overlapMs);
    timer.unref();
    revokeTimers.add(timer);
  };

  const arm = (settings: FaultSettings): void => {
    const { everyMs } = settings.auth.keyRotation;
    if (everyMs === armedEveryMs) return;
    if (ticker) clearInterval(ticker);
    ticker = null;
    armedEveryMs = everyMs;
    if (everyMs <= 0 || stopped) return;
    ticker = setInterval(() => {
      rotate(ctx.faults.current.auth.keyRotation.overlapMs).catch((error: unknown) =>
        ctx.logger.warn('signing-key rotation fault failed', {
          error: error instanceof Error ? error.message : String(error),
        }),
      );
    }, everyMs);
    ticker.unref();
  };

  arm(ctx.faults.current);
  const unsubscribe = ctx.faults.onChange(arm);
  return () => {
    stopped = true;
    unsubscribe();
    if (ticker) clearInterval(ticker);
    for (const timer of revokeTimers) clearTimeout(timer);
    revokeTimers.clear();
  };
}
