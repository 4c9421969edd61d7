/**
 * Shared: code with no domain — error codes and hints, exit codes, the logger and the clock.
 * Imports nothing from the rest of src/.
 */
export * from './errors.js';
export * from './exit-codes.js';
export * from './log.js';
export * from './clock.js';
export * from './duration.js';
export * from './version.js';
export * from './package-files.js';
export * from './percentile.js';
export * from './manual-clock.js';
