/**
 * Supabase Auth on the local target: signing keys, API keys, the one token verifier, and the
 * `/auth/v1` subset (sign-in, refresh, user, logout, admin users, JWKS).
 */
export * from './api-key-gate.js';
export * from './auth-routes.js';
export * from './auth-service.js';
export * from './key-ring.js';
export * from './key-rotation-fault.js';
export * from './signing-key-routes.js';
export * from './signing-keys.js';
