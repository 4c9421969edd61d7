/**
 * Auth: the synthetic mechanics' identities and the lifecycle of their access tokens. Signs in
 * through Supabase Auth (password), re-mints legacy tokens, or reads pre-issued ones; renews each
 * before it expires (margin + jitter), retries with backoff, and reports every sign-in, refresh and
 * expiry as auth metrics. Realtime subscribers and pollers read the current token from here and are
 * told of each new one. Speaks /auth/v1 over fetch; never imports supabase-js (realtime/ does).
 */
export * from './auth-api.js';
export * from './refresh-timing.js';
export * from './mechanic-session.js';
export * from './mechanic-pool.js';
