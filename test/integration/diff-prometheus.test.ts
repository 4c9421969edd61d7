/**
 * `canary diff --prometheus`: the same evidence read back from a real Prometheus that scraped the
 * probe run gives the same outcome counts and the same leading cause as the in-process diff.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeSchema } from '../../src/config/index.js';
import { diffByProbing, diffFromPrometheus } from '../../src/diagnosis/index.js';
import { createMetrics } from '../../src/metrics/index.js';
import type { ResolvedEnvironment } from '../../src/probe/index.js';
import type { LocalTarget } from '../../src/local-target/index.js';
import {
  prometheusAvailable,
  skipWithoutPrometheus,
  startPrometheus,
  type RunningPrometheus,
} from '../helpers/prometheus.js';
import { startLocalEnvironment } from './probe-support.js';

let dev: { env: ResolvedEnvironment; target: LocalTarget };
let prod: { env: ResolvedEnvironment; target: LocalTarget };
let server: http.Server;
let prometheus: RunningPrometheus | undefined;
const instruments = createMetrics();

beforeAll(async () => {
  if (!prometheusAvailable && process.env.CI === 'true') {
    throw new Error('prometheus is required under CI=true: apt-get install prometheus');
  }
  [dev, prod] = await Promise.all([
    startLocalEnvironment({ name: 'dev' }),
    startLocalEnvironment({ name: 'prod' }),
  ]);
  server = http.createServer((_request, response) => {
    void instruments.registry.metrics().then((text) => {
      response.writeHead(200, { 'content-type': instruments.registry.contentType });
      response.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  if (prometheusAvailable) {
    const { port } = server.address() as AddressInfo;
    prometheus = await startPrometheus({
      scrapeTargets: [`http://127.0.0.1:${port}`],
      scrapeIntervalSeconds: 1,
    });
  }
}, 60_000);

afterAll(async () => {
  await prometheus?.stop();
  server?.close();
  await Promise.all([dev?.env.close(), prod?.env.close()]);
});

describe.skipIf(skipWithoutPrometheus)('canary diff from Prometheus', () => {
  it('reads the same counts and names the same cause as the in-process run it scraped', async () => {
    await prod.target.faults.update({ restBroadcast: { delayMs: 600 } });
    const probe = probeSchema.parse({
      name: 'diff-prom',
      subscribers: { lean: 2, 'supabase-js': 0 },
      interval: '300ms',
      pollInterval: '500ms',
      lateAfter: '1500ms',
      deadline: '4s',
    });
    const inProcess = await diffByProbing({
      baseline: dev.env,
      suspect: prod.env,
      probe,
      durationMs: 8_000,
      instruments,
    });
    expect(inProcess.ranking.causes[0]?.id).toBe('broadcast_path');
    const published = inProcess.suspect.published;
    // Wait until Prometheus has scraped the final counters.
    await prometheus!.waitFor(`sum(canary_events_published_total{env="prod"}) >= ${published}`, {
      timeoutMs: 20_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const fromPrometheus = await diffFromPrometheus({
      url: prometheus!.url,
      baseline: 'dev',
      suspect: 'prod',
    });
    for (const env of ['baseline', 'suspect'] as const) {
      expect(fromPrometheus[env].published).toBe(inProcess[env].published);
      for (const path of ['postgres_changes', 'broadcast'] as const) {
        const a = inProcess[env].paths[path];
        const b = fromPrometheus[env].paths[path];
        expect({ delivered: b?.delivered, late: b?.late, dropped: b?.dropped }).toEqual({
          delivered: a?.delivered,
          late: a?.late,
          dropped: a?.dropped,
        });
      }
    }
    expect(fromPrometheus.suspect.paths.broadcast?.latencyMs.exact).toBe(false);
    expect(fromPrometheus.ranking.causes[0]?.id).toBe('broadcast_path');
  }, 120_000);
});
