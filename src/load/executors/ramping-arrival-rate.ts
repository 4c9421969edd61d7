/**
 * `executor: ramping-arrival-rate` — waivers per second follow stages (k6's
 * ramping-arrival-rate) while a fixed number of mechanics listen: "what happens at lunch-time
 * peak, 20 waivers a second?". Arrivals are the integral of the rate, so a slow tick catches up.
 */
import { z } from 'zod';
import { commonScenarioShape } from '../scenario-common.js';
import { arrivalsBy, stageSchema, stagesDurationMs, valueAt } from '../stages.js';
import type { Executor } from './executor.js';
import { runRampPlan, type RampPlan } from './ramp-plan.js';

export const rampingArrivalRateSchema = z.strictObject({
  ...commonScenarioShape,
  executor: z.literal('ramping-arrival-rate'),
  /** Mechanics listening throughout. */
  subscribers: z.number().int().min(0).default(10),
  /** Waivers per second at the start; stages' targets are rates too. */
  startRate: z.number().min(0).max(1000).default(0),
  stages: z.array(stageSchema.extend({ target: z.number().min(0).max(1000) })).min(1),
});

export type RampingArrivalRateScenario = z.output<typeof rampingArrivalRateSchema>;

export function rampingArrivalRatePlan(scenario: RampingArrivalRateScenario): RampPlan {
  return {
    durationMs: stagesDurationMs(scenario.stages),
    peakSubscribers: scenario.subscribers,
    subscribersAt: () => scenario.subscribers,
    rateAt: (ms) => valueAt(scenario.stages, scenario.startRate, ms),
    arrivalsBy: (ms) => Math.floor(arrivalsBy(scenario.stages, scenario.startRate, ms)),
  };
}

export const rampingArrivalRate: Executor<RampingArrivalRateScenario> = {
  name: 'ramping-arrival-rate',
  plannedMs: (scenario) => rampingArrivalRatePlan(scenario).durationMs,
  run: (scenario, context) => runRampPlan(rampingArrivalRatePlan(scenario), scenario, context),
};
