/**
 * Fault injection for the local target: one validated settings object (what goes wrong, on which
 * path), a controller the target's parts consult on every delivery, the database-level faults
 * (publication membership, the realtime RLS policy), the admin HTTP API that changes settings at
 * runtime, and the command-line flags that set them at start. Every injected fault is counted in
 * the target's own /metrics.
 */
export * from './fault-settings.js';
export * from './fault-controller.js';
export * from './sql-faults.js';
export * from './admin-routes.js';
export * from './fault-flags.js';
