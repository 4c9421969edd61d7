/**
 * Server: the harness's HTTP face. A fastify exporter handed a Registry and a StatusSource serves
 * Prometheus metrics, liveness and readiness, the JSON status, a server-sent event stream and the
 * self-contained live status page. Imports metrics and shared (and probe types only).
 */
export * from './status-snapshot.js';
export * from './status-hub.js';
export * from './readiness.js';
export { startExporter, DEFAULT_EXPORTER_PORT, type Exporter, type ExporterOptions } from './exporter.js';
export { renderStatusPage } from './status-page.js';
export {
  createProbeStatusSource,
  type ProbeStatusSource,
  type ProbeStatusSourceOptions,
  type ProbeStatusProvider,
} from './probe-status-source.js';
