/**
 * Load: scenario files (`canary.scenario/v1`), one executor per load model (ramping subscribers,
 * ramping arrival rate, connection-limit discovery) and the run loop that drives the probe engine
 * through them, samples a timeline for the reports and always stops by itself. Imports probe,
 * realtime, metrics, config and shared.
 */
export * from './stages.js';
export * from './scenario-common.js';
export * from './scenario-schema.js';
export * from './load-driver.js';
export * from './executors/index.js';
export * from './run-timeline.js';
export * from './run-scenario.js';
export * from './shard.js';
export * from './workers/index.js';
