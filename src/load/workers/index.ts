/**
 * Splitting one load over processes: worker processes on this machine (`--workers N`) or shards on
 * many (`--shard i/N`), with one publisher whose events reach the others through an event feed,
 * and an exact merge of their results and registries.
 */
export * from './event-feed.js';
export * from './feed-http.js';
export * from './merge.js';
export * from './shard-role.js';
export * from './run-workers.js';
export * from './shard-process.js';
export { transferEnvironment, receiveEnvironment, type TransferredEnvironment } from './worker-protocol.js';
