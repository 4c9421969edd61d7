import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../metrics/index.js';
import { systemClock } from '../shared/index.js';
import { PollingWatcher, isCacheable, keysOf, rowsOf, type PolledDelivery } from './polling-watcher.js';

interface Reply {
  status: number;
  body: unknown;
  cacheControl?: string;
}

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A real HTTP queue API answering from a script, recording the headers it was sent. */
async function queueServer(replies: Reply[]): Promise<{ url: string; seen: http.IncomingHttpHeaders[] }> {
  const seen: http.IncomingHttpHeaders[] = [];
  let i = 0;
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    const reply = replies[Math.min(i++, replies.length - 1)]!;
    res.writeHead(reply.status, {
      'content-type': 'application/json',
      'cache-control': reply.cacheControl ?? 'no-store',
    });
    res.end(JSON.stringify(reply.body));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/mechanic/queue`, seen };
}

async function value(
  registry: ReturnType<typeof createMetrics>['registry'],
  name: string,
  labels: Record<string, string> = {},
) {
  const metric = await registry.getSingleMetric(name)?.get();
  return (metric?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x))
    .reduce((sum, v) => sum + v.value, 0);
}

describe('PollingWatcher', () => {
  it('reports each synthetic row once, by event id, and counts status classes and cacheable answers', async () => {
    const rows = [
      { id: 'a1', metadata: { synthetic: true, canary_event_id: 'e1' } },
      { id: 'a2', metadata: {} },
    ];
    const { url, seen } = await queueServer([
      { status: 200, body: { assignments: rows } },
      { status: 200, body: { assignments: rows }, cacheControl: 'public, max-age=30' },
      { status: 503, body: { error: 'busy' } },
    ]);
    const { registry, metrics } = createMetrics();
    const deliveries: PolledDelivery[] = [];
    const watcher = new PollingWatcher({
      env: 'e',
      probe: 'p',
      queueUrl: url,
      token: 'mechanic-token',
      apiKey: 'anon',
      intervalMs: 1000,
      clock: systemClock,
      metrics,
      onDelivery: (d) => deliveries.push(d),
    });
    await watcher.pollOnce();
    await watcher.pollOnce();
    await watcher.pollOnce();
    expect(deliveries.map((d) => d.keys)).toEqual([
      { eventId: 'e1', assignmentId: 'a1' },
      { assignmentId: 'a2' },
    ]);
    expect(seen[0]?.authorization).toBe('Bearer mechanic-token');
    expect(seen[0]?.apikey).toBe('anon');
    expect(await value(registry, 'canary_poll_requests_total', { status: '2xx' })).toBe(2);
    expect(await value(registry, 'canary_poll_requests_total', { status: '5xx' })).toBe(1);
    expect(await value(registry, 'canary_poll_cacheable_responses_total')).toBe(1);
  });

  it('counts an unreachable queue API as status error and measures staleness against published events', async () => {
    const { registry, metrics } = createMetrics();
    const down = new PollingWatcher({
      env: 'e',
      probe: 'p',
      queueUrl: 'http://127.0.0.1:9/api/mechanic/queue',
      token: 't',
      intervalMs: 1000,
      clock: systemClock,
      metrics,
      onDelivery: () => {},
    });
    await down.pollOnce();
    expect(await value(registry, 'canary_poll_requests_total', { status: 'error' })).toBe(1);

    const { url } = await queueServer([
      { status: 200, body: [{ id: 'old', metadata: { canary_event_id: 'e-old' } }] },
    ]);
    const publishedAt = systemClock.now() - 1500;
    const stale = new PollingWatcher({
      env: 'e',
      probe: 'p',
      queueUrl: url,
      token: 't',
      intervalMs: 1000,
      clock: systemClock,
      metrics,
      onDelivery: () => {},
      expectedEvents: () => [{ eventId: 'e-new', publishedAt }],
    });
    await stale.pollOnce();
    const histogram = await registry.getSingleMetric('canary_poll_staleness_seconds')?.get();
    const sum =
      histogram?.values.find(
        (v) => (v as { metricName?: string }).metricName === 'canary_poll_staleness_seconds_sum',
      )?.value ?? 0;
    expect(sum).toBeGreaterThanOrEqual(1.5);
    expect(sum).toBeLessThan(10);
  });

  it('starts and stops its own timer', async () => {
    const { url } = await queueServer([{ status: 200, body: [] }]);
    const watcher = new PollingWatcher({
      env: 'e',
      probe: 'p',
      queueUrl: url,
      token: 't',
      intervalMs: 50,
      clock: systemClock,
      onDelivery: () => {},
    });
    watcher.start();
    for (let i = 0; i < 100 && watcher.polls < 3; i++) await new Promise((r) => setTimeout(r, 20));
    await watcher.stop();
    const after = watcher.polls;
    expect(after).toBeGreaterThanOrEqual(3);
    await new Promise((r) => setTimeout(r, 150));
    expect(watcher.polls).toBe(after);
  });
});

describe('queue response helpers', () => {
  it('reads rows from a bare array or a common envelope', () => {
    expect(rowsOf([1, 2])).toEqual([1, 2]);
    expect(rowsOf({ queue: [3] })).toEqual([3]);
    expect(rowsOf({ nothing: true })).toEqual([]);
  });

  it('takes the event id from metadata and the assignment id from the row', () => {
    expect(keysOf({ id: 7, metadata: { canary_event_id: 'x' } })).toEqual({
      eventId: 'x',
      assignmentId: '7',
    });
    expect(keysOf({ assignmentId: 'a' })).toEqual({ assignmentId: 'a' });
    expect(keysOf(null)).toEqual({});
  });

  it('treats only positive max-age without no-store/no-cache/private as cacheable', () => {
    expect(isCacheable('public, max-age=60')).toBe(true);
    expect(isCacheable('s-maxage=0')).toBe(false);
    expect(isCacheable('no-store')).toBe(false);
    expect(isCacheable('private, max-age=60')).toBe(false);
    expect(isCacheable(null)).toBe(false);
  });
});
