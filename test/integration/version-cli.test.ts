/** The harness says its own version — the package's — however it was started. */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics/index.js';
import { runCli } from './load-support.js';

const packageVersion = (
  JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

describe('the harness version', () => {
  it('is printed by canary --version and canary -V, started without npm', async () => {
    const env = { npm_package_version: '' };
    for (const flag of ['--version', '-V']) {
      const result = await runCli([flag], { env, timeoutMs: 30_000 });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout.trim()).toBe(packageVersion);
    }
  });

  it('is the version label of canary_build_info even when npm did not set npm_package_version', async () => {
    const saved = process.env.npm_package_version;
    delete process.env.npm_package_version;
    try {
      const { registry } = createMetrics();
      const text = await registry.getSingleMetricAsString('canary_build_info');
      expect(text).toContain(`version="${packageVersion}"`);
    } finally {
      if (saved !== undefined) process.env.npm_package_version = saved;
    }
  });
});
