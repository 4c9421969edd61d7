/**
 * The executors, one file each, named for their load model (like k6's), and the table the runner
 * picks one from by the scenario's `executor` key.
 */
import type { Scenario } from '../scenario-schema.js';
import { connectionLimit } from './connection-limit.js';
import type { Executor } from './executor.js';
import { rampingArrivalRate } from './ramping-arrival-rate.js';
import { rampingSubscribers } from './ramping-subscribers.js';

export * from './executor.js';
export * from './ramp-plan.js';
export * from './ramping-subscribers.js';
export * from './ramping-arrival-rate.js';
export * from './connection-limit.js';

type ExecutorTable = { [K in Scenario['executor']]: Executor<Extract<Scenario, { executor: K }>> };

const EXECUTOR_TABLE: ExecutorTable = {
  'ramping-subscribers': rampingSubscribers,
  'ramping-arrival-rate': rampingArrivalRate,
  'connection-limit': connectionLimit,
};

/** The executor a scenario names. */
export function executorFor<S extends Scenario>(scenario: S): Executor<S> {
  return EXECUTOR_TABLE[scenario.executor as S['executor']] as unknown as Executor<S>;
}
