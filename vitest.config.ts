import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Integration tests start a real Postgres and real websocket servers; give them room.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: more parallel files than this only adds contention to timing-sensitive tests.
    maxWorkers: 2,
    // The JSON results let CI print one plain 'N passed, N failed' line (see .ci/run).
    reporters: ['default', ['json', { outputFile: 'artifacts/vitest-results.json' }]],
  },
});
