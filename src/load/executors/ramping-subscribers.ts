/**
 * `executor: ramping-subscribers` — the number of connected mechanics follows stages
 * (k6's ramping-vus): "does delivery hold while 10 → 150 dashboards connect?". Waivers arrive at a
 * constant `rate` per second meanwhile.
 */
import { z } from 'zod';
import { commonScenarioShape } from '../scenario-common.js';
import { peakValue, stageSchema, stagesDurationMs, valueAt } from '../stages.js';
import type { Executor } from './executor.js';
import { runRampPlan, type RampPlan } from './ramp-plan.js';

export const rampingSubscribersSchema = z.strictObject({
  ...commonScenarioShape,
  executor: z.literal('ramping-subscribers'),
  startSubscribers: z.number().int().min(0).default(0),
  stages: z.array(stageSchema).min(1),
  /** Waivers per second throughout. */
  rate: z.number().min(0).max(1000).default(1),
});

export type RampingSubscribersScenario = z.output<typeof rampingSubscribersSchema>;

export function rampingSubscribersPlan(scenario: RampingSubscribersScenario): RampPlan {
  const durationMs = stagesDurationMs(scenario.stages);
  return {
    durationMs,
    peakSubscribers: peakValue(scenario.stages, scenario.startSubscribers),
    subscribersAt: (ms) => Math.round(valueAt(scenario.stages, scenario.startSubscribers, ms)),
    rateAt: () => scenario.rate,
    arrivalsBy: (ms) => Math.floor((scenario.rate * Math.min(Math.max(ms, 0), durationMs)) / 1000),
  };
}

export const rampingSubscribers: Executor<RampingSubscribersScenario> = {
  name: 'ramping-subscribers',
  plannedMs: (scenario) => rampingSubscribersPlan(scenario).durationMs,
  run: (scenario, context) => runRampPlan(rampingSubscribersPlan(scenario), scenario, context),
};
