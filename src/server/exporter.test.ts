import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createHarnessHealth, createMetrics } from '../metrics/index.js';
import { CanaryError } from '../shared/index.js';
import { startExporter, type Exporter } from './exporter.js';
import { createStatusHub } from './status-hub.js';
import type { StatusSnapshot } from './status-snapshot.js';

function snapshotWith(options: { subscribed: number; rounds: number; probe?: string }): StatusSnapshot {
  return {
    generatedAt: new Date().toISOString(),
    harness: null,
    environments: [
      {
        name: 'local',
        probes: [
          {
            name: options.probe ?? 'waiver-to-mechanic',
            roundsCompleted: options.rounds,
            lastRoundAt: options.rounds > 0 ? new Date().toISOString() : null,
            lastRoundSuccess: options.rounds > 0 ? true : null,
            subscribers: [
              { client: 'supabase-js', desired: 1, byStatus: { SUBSCRIBED: options.subscribed } },
            ],
            paths: [],
            slos: [],
            recentEvents: [],
          },
        ],
      },
    ],
  };
}

interface SseMessage {
  event?: string;
  data?: string;
  comment?: string;
}

/** Reads a server-sent event stream until `enough` says stop or the time runs out. */
async function readEvents(
  url: string,
  enough: (messages: SseMessage[]) => boolean,
  timeoutMs = 10_000,
): Promise<SseMessage[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const messages: SseMessage[] = [];
  try {
    const response = await fetch(url, { signal: controller.signal });
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    while (!enough(messages)) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const message: SseMessage = {};
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) message.comment = line.slice(1).trim();
          else if (line.startsWith('event: ')) message.event = line.slice(7);
          else if (line.startsWith('data: ')) message.data = line.slice(6);
        }
        messages.push(message);
      }
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return messages;
}

const snapshots = (messages: SseMessage[]): StatusSnapshot[] =>
  messages.filter((m) => m.event === 'snapshot').map((m) => JSON.parse(m.data ?? 'null') as StatusSnapshot);

describe('exporter', () => {
  let exporter: Exporter | undefined;
  afterEach(async () => {
    await exporter?.close();
    exporter = undefined;
  });

  it('serves the registry as Prometheus text with the registry content type', async () => {
    const { registry, metrics } = createMetrics({ registry: new Registry() });
    metrics.eventsPublished.inc({ env: 'local', probe: 'p', mode: 'direct' }, 3);
    exporter = await startExporter({ registry, status: createStatusHub(), port: 0 });

    const response = await fetch(`${exporter.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(registry.contentType);
    const body = await response.text();
    expect(body).toContain('canary_events_published_total{env="local",probe="p",mode="direct"} 3');
    expect(body).toMatch(/canary_build_info\{version="[^"]+",node_version="v\d+/);
  });

  it('answers liveness with harness health when it is given', async () => {
    const { registry, metrics } = createMetrics({ registry: new Registry() });
    const health = createHarnessHealth({ metrics, intervalMs: 60_000 });
    health.sample();
    exporter = await startExporter({ registry, status: createStatusHub(), port: 0, health });

    const response = await fetch(`${exporter.url}/healthz`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      status: string;
      harness: { samples: number; overloaded: boolean };
    };
    expect(body.status).toBe('ok');
    expect(body.harness.samples).toBe(1);
    expect(typeof body.harness.overloaded).toBe('boolean');
  });

  it('is not ready until every environment is subscribed and through a first round, and says why', async () => {
    const hub = createStatusHub();
    exporter = await startExporter({ registry: new Registry(), status: hub, port: 0 });

    let response = await fetch(`${exporter.url}/readyz`);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ ready: false, reasons: ['no environment is being probed yet'] });

    hub.publish(snapshotWith({ subscribed: 0, rounds: 0 }));
    response = await fetch(`${exporter.url}/readyz`);
    expect(response.status).toBe(503);
    expect(((await response.json()) as { reasons: string[] }).reasons).toEqual([
      'environment local: no subscriber is SUBSCRIBED yet',
      'environment local: first probe round not finished yet',
    ]);

    hub.publish(snapshotWith({ subscribed: 1, rounds: 1 }));
    response = await fetch(`${exporter.url}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ready: true });
  });

  it('returns the status snapshot as JSON with only the contract fields', async () => {
    const hub = createStatusHub();
    const snapshot = snapshotWith({ subscribed: 1, rounds: 2 });
    const published = structuredClone(snapshot);
    // A producer passing its internal state along must not have it published.
    Object.assign(snapshot.environments[0]!, { internalState: { socket: 'open' } });
    hub.publish(snapshot);
    exporter = await startExporter({ registry: new Registry(), status: hub, port: 0 });

    const response = await fetch(`${exporter.url}/api/status`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = (await response.json()) as StatusSnapshot;
    expect(body.environments[0]).not.toHaveProperty('internalState');
    expect(body).toEqual(published);
  });

  it('streams a snapshot on connect, then coalesced updates ending with the newest', async () => {
    const hub = createStatusHub(snapshotWith({ subscribed: 0, rounds: 0 }));
    exporter = await startExporter({
      registry: new Registry(),
      status: hub,
      port: 0,
      events: { minIntervalMs: 200, keepAliveMs: 60_000 },
    });

    const reading = readEvents(`${exporter.url}/api/events`, (messages) =>
      snapshots(messages).some((s) => s.environments[0]?.probes[0]?.roundsCompleted === 10),
    );
    for (let i = 0; i < 50 && hub.listenerCount() === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(hub.listenerCount()).toBe(1);
    for (let round = 1; round <= 10; round++) hub.publish(snapshotWith({ subscribed: 1, rounds: round }));

    const received = snapshots(await reading);
    expect(received[0]?.environments[0]?.probes[0]?.roundsCompleted).toBe(0);
    expect(received.at(-1)?.environments[0]?.probes[0]?.roundsCompleted).toBe(10);
    // Ten changes in a burst arrive as far fewer messages, never out of order.
    expect(received.length).toBeLessThanOrEqual(4);
    const rounds = received.map((s) => s.environments[0]?.probes[0]?.roundsCompleted ?? -1);
    expect([...rounds].sort((a, b) => a - b)).toEqual(rounds);
    // The reader hung up: its listener must be gone.
    for (let i = 0; i < 50 && hub.listenerCount() > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(hub.listenerCount()).toBe(0);
  });

  it('keeps streaming after a malformed snapshot instead of crashing', async () => {
    const hub = createStatusHub();
    exporter = await startExporter({
      registry: new Registry(),
      status: hub,
      port: 0,
      events: { minIntervalMs: 10, keepAliveMs: 60_000 },
    });
    const reading = readEvents(`${exporter.url}/api/events`, (messages) =>
      snapshots(messages).some((s) => s.environments[0]?.probes[0]?.roundsCompleted === 2),
    );
    for (let i = 0; i < 50 && hub.listenerCount() === 0; i++) await new Promise((r) => setTimeout(r, 20));
    // Breaks the contract the way a buggy producer might.
    hub.publish({ generatedAt: 'now', harness: null, environments: null } as unknown as StatusSnapshot);
    await new Promise((r) => setTimeout(r, 50));
    hub.publish(snapshotWith({ subscribed: 1, rounds: 2 }));
    const received = snapshots(await reading);
    expect(received.at(-1)?.environments[0]?.probes[0]?.roundsCompleted).toBe(2);
  });

  it('sends keep-alive comments on an idle stream', async () => {
    exporter = await startExporter({
      registry: new Registry(),
      status: createStatusHub(),
      port: 0,
      events: { keepAliveMs: 50 },
    });
    const messages = await readEvents(`${exporter.url}/api/events`, (m) =>
      m.some((x) => x.comment === 'keep-alive'),
    );
    expect(messages.some((m) => m.comment === 'keep-alive')).toBe(true);
  });

  it('closes promptly while a live page is still connected', async () => {
    const hub = createStatusHub();
    exporter = await startExporter({ registry: new Registry(), status: hub, port: 0 });
    const response = await fetch(`${exporter.url}/api/events`);
    const reader = response.body!.getReader();
    await reader.read();

    const startedAt = performance.now();
    await exporter.close();
    exporter = undefined;
    expect(performance.now() - startedAt).toBeLessThan(5_000);
    expect(hub.listenerCount()).toBe(0);
    // The stream ends rather than hanging.
    for (let i = 0; i < 10; i++) if ((await reader.read()).done) break;
  });

  it('serves the status page as HTML with a nonce-based content security policy', async () => {
    exporter = await startExporter({ registry: new Registry(), status: createStatusHub(), port: 0 });
    const response = await fetch(`${exporter.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const policy = response.headers.get('content-security-policy') ?? '';
    const nonce = /script-src 'nonce-([^']+)'/.exec(policy)?.[1];
    expect(nonce).toBeTruthy();
    const html = await response.text();
    expect(html).toContain(`<script nonce="${nonce}">`);
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org)/);
  });

  it('refuses a port that is taken with PORT_IN_USE and a way out', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      const attempt = startExporter({ registry: new Registry(), status: createStatusHub(), port });
      await expect(attempt).rejects.toBeInstanceOf(CanaryError);
      await expect(attempt).rejects.toMatchObject({
        code: 'PORT_IN_USE',
        hint: expect.stringContaining('port'),
      });
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('refuses a host that is not an address of this machine, naming the usual choices', async () => {
    const attempt = startExporter({
      registry: new Registry(),
      status: createStatusHub(),
      host: '192.0.2.1',
      port: 0,
    });
    await expect(attempt).rejects.toMatchObject({
      code: 'CLI_USAGE',
      hint: expect.stringContaining('127.0.0.1'),
    });
  });

  it('rejects an impossible port before trying to listen', async () => {
    await expect(
      startExporter({ registry: new Registry(), status: createStatusHub(), port: 70_000 }),
    ).rejects.toThrow(/0 to 65535/);
  });
});
