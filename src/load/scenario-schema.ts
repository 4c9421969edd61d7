/**
 * A load scenario file (`version: canary.scenario/v1`): one `executor` key picks the load model
 * and its keys (executors/), the rest is common (scenario-common.ts). Strict: unknown keys are
 * errors, every problem is reported at once as `file: key: message — fix`.
 *
 *   version: canary.scenario/v1
 *   name: smoke
 *   description: A few mechanics, one waiver a second; CI's quick check.
 *   executor: ramping-subscribers      # or ramping-arrival-rate, connection-limit
 *   stages: [{ duration: 5s, target: 10 }, { duration: 20s, target: 10 }]
 *   rate: 1
 *   thresholds: { slos: ../slos/delivery.yaml, only: [delivery-latency] }
 */
import { z } from 'zod';
import { loadYamlFile } from '../config/index.js';
import { connectionLimitSchema } from './executors/connection-limit.js';
import { executorFor } from './executors/index.js';
import { rampingArrivalRateSchema } from './executors/ramping-arrival-rate.js';
import { rampingSubscribersSchema } from './executors/ramping-subscribers.js';

export const EXECUTORS = ['ramping-subscribers', 'ramping-arrival-rate', 'connection-limit'] as const;
export type ExecutorName = (typeof EXECUTORS)[number];

export const scenarioSchema = z.discriminatedUnion(
  'executor',
  [rampingSubscribersSchema, rampingArrivalRateSchema, connectionLimitSchema],
  { error: `executor must be one of ${EXECUTORS.join(', ')} — pick the load model (docs/load-testing.md)` },
);

export type Scenario = z.output<typeof scenarioSchema>;

export function loadScenarioFile(file: string): Scenario {
  return loadYamlFile(file, scenarioSchema);
}

/** The executor's own length, before drain: stages, or every connection-limit level. */
export function plannedDurationMs(scenario: Scenario): number {
  return executorFor(scenario).plannedMs(scenario);
}

/** The hard bound on the whole run: maxDuration, or planned + drain deadline + 30 s. */
export function runBoundMs(scenario: Scenario, deadlineMs: number): number {
  return scenario.maxDuration ?? plannedDurationMs(scenario) + deadlineMs + 30_000;
}
