/**
 * The target's keys and its one token verifier live in ./auth; this module keeps the older import
 * path working for the parts and tests that use it.
 */
export * from './auth/key-ring.js';
export * from './auth/signing-keys.js';
