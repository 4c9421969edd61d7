/**
 * Config: versioned YAML (`version: canary/v1`) validated at the edge with strict zod schemas —
 * environments, probes, the exporter address, SLO file references — and the loader other areas
 * reuse for their own spec files (`loadYamlFile`, `formatIssues`). Unknown keys are errors and
 * every problem is reported at once as `file: key.path: message — fix`. Secrets are env-var names
 * here and Secrets (printed as [redacted]) once resolved. Imports shared only.
 */
export * from './yaml-loader.js';
export * from './duration.js';
export * from './secret.js';
export * from './secret-transfer.js';
export * from './environment-schema.js';
export * from './probe-schema.js';
export * from './canary-config.js';
export * from './environment-secrets.js';
export * from './env-file.js';
