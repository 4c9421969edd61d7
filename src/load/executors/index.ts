/** The executors, one file each, named for their load model (like k6's). */
export * from './ramp-plan.js';
export * from './ramping-subscribers.js';
export * from './ramping-arrival-rate.js';
export * from './connection-limit.js';
