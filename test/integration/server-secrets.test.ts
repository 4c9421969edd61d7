import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { loadCanaryConfig, resolveEnvironmentSecrets } from '../../src/config/index.js';
import { createHarnessHealth, createMetrics } from '../../src/metrics/index.js';
import {
  createStatusHub,
  startExporter,
  type Exporter,
  type StatusSnapshot,
} from '../../src/server/index.js';

const SERVICE_ROLE_KEY = `service-role-secret-${Math.random().toString(36).slice(2)}`;
const ANON_KEY = `anon-secret-${Math.random().toString(36).slice(2)}`;
const MECHANIC_TOKEN = `mechanic-token-secret-${Math.random().toString(36).slice(2)}`;
/** Harmless text the status does carry: proves route output reflects the snapshot at all. */
const VISIBLE_DECOY = 'visible-decoy-probe';

const CONFIG = `version: canary/v1
environments:
  - name: prod
    remote:
      supabaseUrl: https://example-project.supabase.co
      anonKeyEnv: SECRETS_TEST_ANON_KEY
      serviceRoleKeyEnv: SECRETS_TEST_SERVICE_ROLE_KEY
    mechanics:
      from: env
      tokensEnv: [SECRETS_TEST_MECHANIC_TOKEN]
probes:
  - file: probe.yaml
`;

async function readFirstEvent(url: string): Promise<string> {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  for (let i = 0; i < 20 && !text.includes('event: snapshot'); i++) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  controller.abort();
  return text;
}

describe('the exporter and secrets', () => {
  let dir: string;
  let exporter: Exporter;
  let failingExporter: Exporter;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'canary-secrets-'));
    const file = path.join(dir, 'canary.yaml');
    fs.writeFileSync(file, CONFIG);
    fs.copyFileSync(
      new URL('../../probes/waiver-to-mechanic.yaml', import.meta.url),
      path.join(dir, 'probe.yaml'),
    );
    const secretEnv = {
      SECRETS_TEST_ANON_KEY: ANON_KEY,
      SECRETS_TEST_SERVICE_ROLE_KEY: SERVICE_ROLE_KEY,
      SECRETS_TEST_MECHANIC_TOKEN: MECHANIC_TOKEN,
    };
    // The process environment holds the keys too, as it would in production.
    Object.assign(process.env, secretEnv);

    const config = loadCanaryConfig(file);
    const resolved = resolveEnvironmentSecrets(config.environments[0]!, { env: secretEnv, file });
    expect(resolved.secrets.serviceRoleKey?.reveal()).toBe(SERVICE_ROLE_KEY);

    const { registry, metrics } = createMetrics({ registry: new Registry(), defaultMetrics: true });
    metrics.eventsPublished.inc({ env: resolved.config.name, probe: VISIBLE_DECOY, mode: 'direct' });
    const health = createHarnessHealth({ metrics });
    health.sample();

    // A careless producer: it hangs the whole resolved environment, and even a revealed key, off
    // the snapshot. The exporter must publish only the contract's fields.
    const careless = {
      generatedAt: new Date().toISOString(),
      harness: null,
      environments: [
        {
          ...resolved.config,
          secrets: resolved.secrets,
          serviceRoleKey: resolved.secrets.serviceRoleKey?.reveal(),
          probes: [
            {
              name: VISIBLE_DECOY,
              roundsCompleted: 1,
              lastRoundAt: new Date().toISOString(),
              lastRoundSuccess: true,
              subscribers: [
                {
                  client: 'supabase-js',
                  desired: 1,
                  byStatus: { SUBSCRIBED: 1 },
                  accessToken: resolved.secrets.mechanicTokens[0]?.reveal(),
                },
              ],
              paths: [],
              slos: [],
              recentEvents: [],
              apikey: resolved.secrets.anonKey?.reveal(),
            },
          ],
        },
      ],
      // The cast is the point: this object breaks the contract the way a careless producer would.
    } as unknown as StatusSnapshot;
    exporter = await startExporter({ registry, status: createStatusHub(careless), port: 0, health });

    failingExporter = await startExporter({
      registry: new Registry(),
      port: 0,
      status: {
        snapshot: () => {
          throw new Error(`could not reach https://example-project.supabase.co with key ${SERVICE_ROLE_KEY}`);
        },
        subscribe: () => () => undefined,
      },
    });
  });

  afterAll(async () => {
    await exporter?.close();
    await failingExporter?.close();
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('never shows a key in any route, even when the status source carries one', async () => {
    const outputs: Record<string, string> = {};
    for (const route of ['/metrics', '/healthz', '/readyz', '/api/status', '/', '/no-such-route']) {
      const response = await fetch(`${exporter.url}${route}`);
      let headers = '';
      response.headers.forEach((value, name) => (headers += `${name}: ${value}\n`));
      outputs[route] = `${headers}\n${await response.text()}`;
    }
    outputs['/api/events'] = await readFirstEvent(`${exporter.url}/api/events`);

    for (const [route, output] of Object.entries(outputs)) {
      for (const secret of [SERVICE_ROLE_KEY, ANON_KEY, MECHANIC_TOKEN]) {
        expect(output.includes(secret), `${route} leaks a secret`).toBe(false);
      }
      expect(output, route).not.toContain('[redacted]');
    }
    // The snapshot's content does flow through, so the checks above are not vacuous.
    expect(outputs['/api/status']).toContain(VISIBLE_DECOY);
    expect(outputs['/api/events']).toContain(VISIBLE_DECOY);
    expect(outputs['/metrics']).toContain(`probe="${VISIBLE_DECOY}"`);
  });

  it('keeps a failing status source error, which may quote a key, out of the response', async () => {
    for (const route of ['/api/status', '/readyz']) {
      const response = await fetch(`${failingExporter.url}${route}`);
      expect(response.status).toBe(500);
      const body = await response.text();
      expect(body).not.toContain(SERVICE_ROLE_KEY);
      expect(body).toContain('see the harness log');
    }
    const events = await readFirstEvent(`${failingExporter.url}/api/events`);
    expect(events).not.toContain(SERVICE_ROLE_KEY);
    expect(events).toContain('status unavailable');
  });
});
