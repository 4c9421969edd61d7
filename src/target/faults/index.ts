/**
 * Fault injection for the local target: one validated settings object (what goes wrong, on which
 * path), a controller the target's parts consult on every delivery, and the admin HTTP API that
 * changes it at runtime. Every injected fault is counted in the target's own /metrics.
 */
export * from './fault-settings.js';
export * from './fault-controller.js';
