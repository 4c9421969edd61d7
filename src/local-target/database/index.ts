/**
 * The local target's database: an embedded Postgres cluster set up for logical replication, the
 * plain-SQL migrations that reproduce the production schema, roles and RLS, and the statements
 * fault injection uses to break the realtime policy and publication on purpose.
 */
export * from './embedded-database.js';
export * from './migrations.js';
export * from './realtime-policy.js';
export * from './role-transaction.js';
