/**
 * The ramping executors' shared shape: a plan (subscribers and arrivals as functions of elapsed
 * time) and the loop that follows it tick by tick until the plan ends or the run must stop.
 */
import { CanaryError } from '../../shared/index.js';
import type { ExecutorContext, ExecutorResult } from './executor.js';

/** What a ramping executor decides over time; runRampPlan follows it tick by tick. */
export interface RampPlan {
  durationMs: number;
  peakSubscribers: number;
  /** Subscribers wanted `ms` after the start. */
  subscribersAt(ms: number): number;
  /** Waiver rate (events/s) wanted at `ms`, for the gauge and the progress line. */
  rateAt(ms: number): number;
  /** Events that should have been published by `ms`. */
  arrivalsBy(ms: number): number;
}

/** Follows `plan` until it ends (completed) or the context says stop. */
export async function runRampPlan(
  plan: RampPlan,
  scenario: { name: string; harness: { maxSubscribers?: number | undefined } },
  context: ExecutorContext,
): Promise<ExecutorResult> {
  for (;;) {
    const stop = context.mustStop();
    if (stop) return { stopReason: stop };
    const t = context.elapsed();
    if (t >= plan.durationMs) return { stopReason: 'completed' };
    const wanted = plan.subscribersAt(t);
    const budget = scenario.harness.maxSubscribers;
    if (budget !== undefined && wanted > budget) {
      throw new CanaryError(
        'HARNESS_OVERLOADED',
        `scenario "${scenario.name}" wants ${wanted} subscribers, over this harness's budget of ${budget}`,
        { hint: 'lower the stages, raise harness.maxSubscribers, or shard the load over more machines' },
      );
    }
    await context.steerSubscribers(wanted);
    context.setArrivalRate(plan.rateAt(t));
    context.publishDue(plan.arrivalsBy(t));
    context.sample();
    await context.clock.sleep(context.tickMs, context.signal);
  }
}
