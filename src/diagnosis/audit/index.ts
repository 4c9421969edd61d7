/**
 * `canary audit`: the seed's SQL audit and Supabase's Realtime troubleshooting checklist,
 * automated. Read-only; each check gives pass / warn / fail, its evidence and the fix.
 */
export * from './audit-check.js';
export * from './expected-schema.js';
export * from './run-audit.js';
export * from './render-audit.js';
export * from './auth-checks.js';
