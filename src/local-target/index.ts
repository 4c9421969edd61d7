/**
 * The local target: a Supabase-compatible stack (embedded Postgres with the production schema and
 * RLS, HS256 keys, PostgREST subset, the app's waiver/queue endpoints, the Realtime websocket
 * protocol, fault injection) used as the embedded default environment and the known-truth fixture
 * for every test. Start it with startTarget(); never imports the harness's realtime client.
 */
export * from './components.js';
export * from './start-target.js';
export * from './keys.js';
export * from './auth/index.js';
export { createTargetMetrics, TARGET_PATHS, type TargetMetrics, type TargetPath } from './target-metrics.js';
export {
  REALTIME_SELECT_POLICY,
  REALTIME_PUBLICATION,
  applyMigrations,
  findFreePort,
  isPortTaken,
  runAsRole,
} from './database/index.js';
export type { EmbeddedDatabaseHandle } from './database/index.js';
export * from './faults/index.js';
export { TLS_ENV, tlsFromEnvironment, type TargetTlsOption } from './tls/server-tls.js';
