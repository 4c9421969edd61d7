/**
 * Probe: the engine that measures delivery. A ProbeRunner keeps synthetic mechanics subscribed
 * (supabase-js and lean clients) and polling, publishes tagged synthetic waivers, and the event
 * ledger gives every (event, subscriber, path) exactly one outcome — delivered, late or dropped —
 * plus duplicates, out-of-order, gaps, readiness gaps and zombies, all into the catalogue metrics.
 * The scheduler runs every environment's probes concurrently. Load executors build on the runner.
 */
export * from './event-ledger.js';
export * from './event-publisher.js';
export * from './polling-watcher.js';
export * from './probe-runner.js';
export * from './resolved-environment.js';
export * from './scheduler.js';
