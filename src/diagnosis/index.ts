/**
 * Diagnosis: answers "same database, why does prod differ from dev?" with evidence.
 * `audit` checks one environment's database and Realtime setup (read-only); `diff` compares two
 * environments under the same probe and ranks likely causes. Imports probe, slo, metrics, config
 * and shared.
 */
export * from './audit/index.js';
export * from './diff/env-evidence.js';
export * from './diff/rank-causes.js';
export * from './diff/render-diff.js';
export * from './diff/run-diff.js';
