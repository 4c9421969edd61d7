import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { Registry } from 'prom-client';
import { createMetrics, DELIVERY_PATHS, type DeliveryPath } from '../../src/metrics/index.js';
import { percentile } from '../../src/shared/index.js';
import {
  createProbeStatusSource,
  createStatusHub,
  startExporter,
  type Exporter,
  type PathStatus,
  type ProbeStatusSource,
  type RecentEvent,
  type StatusHub,
  type StatusSnapshot,
} from '../../src/server/index.js';
import { artifactPath, launchChromium, openPage, skipWithoutChromium } from '../helpers/chromium.js';
import { createRunner, startLocalEnvironment, type RunnerFixture } from './probe-support.js';

/**
 * A small producer of changing status: every tick it "publishes" an event and gives each path a
 * latency (or a drop), keeping the counts, percentiles, series and recent events the way a runner
 * does. Seeded so a failure reproduces.
 */
function startChangingStatus(hub: StatusHub, options: { intervalMs: number; maxTicks: number }) {
  let seed = 42;
  const random = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  const baseMs: Record<DeliveryPath, number> = {
    postgres_changes: 40,
    broadcast: 15,
    polling: 900,
    db_broadcast: 20,
  };
  const latencies: Record<DeliveryPath, number[]> = {
    postgres_changes: [],
    broadcast: [],
    polling: [],
    db_broadcast: [],
  };
  const paths: PathStatus[] = DELIVERY_PATHS.map((path) => ({
    path,
    latencyMs: { p50: null, p95: null, p99: null },
    delivered: 0,
    late: 0,
    dropped: 0,
    duplicates: 0,
    deliveredRatio: null,
    series: [],
  }));
  const recentEvents: RecentEvent[] = [];
  let ticks = 0;

  const tick = (): void => {
    ticks += 1;
    const publishedAt = new Date().toISOString();
    const event: RecentEvent = { id: `evt-${ticks.toString().padStart(4, '0')}`, publishedAt, latencyMs: {} };
    for (const status of paths) {
      // Every fifth postgres_changes event is lost: the symptom the page must make visible.
      const dropped = status.path === 'postgres_changes' && ticks % 5 === 0;
      if (dropped) {
        status.dropped += 1;
        event.latencyMs[status.path] = 'dropped';
        status.series.push({ at: publishedAt, latencyMs: null });
      } else {
        const latency = Math.round(baseMs[status.path] * (0.5 + random()) * 10) / 10;
        latencies[status.path].push(latency);
        if (latency > 1_000) status.late += 1;
        else status.delivered += 1;
        event.latencyMs[status.path] = latency;
        status.series.push({ at: publishedAt, latencyMs: latency });
      }
      if (status.series.length > 120) status.series.shift();
      const values = latencies[status.path];
      status.latencyMs = {
        p50: percentile(values, 0.5),
        p95: percentile(values, 0.95),
        p99: percentile(values, 0.99),
      };
      const total = status.delivered + status.late + status.dropped;
      status.deliveredRatio = total === 0 ? null : status.delivered / total;
    }
    recentEvents.unshift(event);
    recentEvents.splice(20);

    const snapshot: StatusSnapshot = {
      generatedAt: new Date().toISOString(),
      harness: { overloaded: false, eventLoopLagP99Ms: 3, cpuRatio: 0.1 },
      environments: [
        {
          name: 'local',
          probes: [
            {
              // Markup in a name must show up as text, never as elements.
              name: 'waiver-to-mechanic <img src=x>',
              roundsCompleted: ticks,
              lastRoundAt: publishedAt,
              lastRoundSuccess: ticks % 5 !== 0,
              subscribers: [
                {
                  client: 'supabase-js',
                  desired: 2,
                  byStatus: ticks < 3 ? { JOINING: 2 } : { SUBSCRIBED: 2 },
                },
                { client: 'lean', desired: 2, byStatus: { SUBSCRIBED: 1, CHANNEL_ERROR: 1 } },
              ],
              paths: structuredClone(paths),
              slos: [{ name: 'broadcast within 2 s', objective: 0.99, current: 1, met: true }],
              recentEvents: structuredClone(recentEvents),
            },
          ],
        },
      ],
    };
    hub.publish(snapshot);
    if (ticks >= options.maxTicks) clearInterval(timer);
  };
  const timer = setInterval(tick, options.intervalMs);
  return { stop: () => clearInterval(timer), ticks: () => ticks };
}

describe.skipIf(skipWithoutChromium)('the live status page in headless Chromium', () => {
  let exporter: Exporter;
  let browser: Browser;
  const hub = createStatusHub();

  beforeAll(async () => {
    const { registry } = createMetrics({ registry: new Registry() });
    exporter = await startExporter({ registry, status: hub, port: 0, events: { minIntervalMs: 100 } });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await exporter?.close();
  });

  it('shows an empty state before any data, then live charts and events, without console errors', async () => {
    const { page, consoleErrors, pageErrors } = await openPage(browser, `${exporter.url}/`);

    await page.waitForSelector('html[data-updates]', { timeout: 15_000 });
    expect(await page.textContent('main')).toContain('No environment is being probed yet');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toContain('Realtime Canary');
    expect(await page.textContent('#connection')).toBe('Live');

    const producer = startChangingStatus(hub, { intervalMs: 120, maxTicks: 200 });
    try {
      // Enough events that every chart has a line and at least one drop happened.
      await page.waitForFunction(() => Number(document.documentElement.dataset.updates) >= 12, undefined, {
        timeout: 30_000,
      });

      expect(await page.getByRole('heading', { level: 2 }).first().textContent()).toBe('Environment local');
      for (const path of DELIVERY_PATHS) {
        const line = await page.getAttribute(`svg.chart[data-path="${path}"] path.series-line`, 'd');
        expect(line, `chart line for ${path}`).toMatch(/^M[\d.]+ [\d.]+ (L[\d.]+ [\d.]+ ?){3,}/);
      }
      expect(
        await page.locator('svg.chart[data-path="postgres_changes"] path.drop-mark').count(),
      ).toBeGreaterThan(0);

      const eventRows = page.locator('table:has(caption:text("Latest events")) tbody tr');
      expect(await eventRows.count()).toBeGreaterThanOrEqual(10);
      expect(
        await page.locator('table:has(caption:text("Latest events")) td.bad').first().textContent(),
      ).toBe('dropped');
      const subscriberRows = page.locator('table:has(caption:text("Subscribers by status")) tbody tr');
      expect(await subscriberRows.count()).toBe(2);
      expect(await page.textContent('article.probe h3')).toBe('Probe waiver-to-mechanic <img src=x>');
      expect(await page.locator('main img').count()).toBe(0);

      // The page keeps following the stream rather than showing the first snapshot forever.
      const before = await page.textContent('table:has(caption:text("Latest events")) tbody tr th');
      await page.waitForFunction(
        (first) =>
          document.querySelector('table tbody tr th code')?.textContent !== first &&
          Number(document.documentElement.dataset.updates) >= 15,
        before?.trim(),
        { timeout: 15_000 },
      );

      const screenshot = artifactPath('status-page.png');
      await page.screenshot({ path: screenshot, fullPage: true });
      console.log(`status page screenshot: ${screenshot}`);
    } finally {
      producer.stop();
    }

    expect(pageErrors).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});

describe.skipIf(skipWithoutChromium)(
  'the live status page following a real probe runner on the local target',
  () => {
    let environment: Awaited<ReturnType<typeof startLocalEnvironment>> | undefined;
    let fixture: RunnerFixture | undefined;
    let source: ProbeStatusSource | undefined;
    let exporter: Exporter | undefined;
    let browser: Browser | undefined;

    afterAll(async () => {
      await browser?.close();
      await exporter?.close();
      source?.stop();
      await fixture?.runner.stop();
      await environment?.env.close();
      // Stopping a local target has taken over a minute when the whole suite runs on two cores.
    }, 120_000);

    it('turns ready, charts every path from real deliveries and shows injected drops, without console errors', async () => {
      environment = await startLocalEnvironment({ name: 'local', mechanics: 2 });
      fixture = createRunner(environment.env, {
        name: 'waiver-to-mechanic',
        subscribers: { lean: 1, 'supabase-js': 1 },
        paths: ['postgres_changes', 'broadcast', 'polling'],
        pollInterval: '300ms',
        lateAfter: '2s',
        deadline: '6s',
        eventsPerRound: 3,
        readinessCheck: false,
      });
      const { runner, registry } = fixture;
      source = createProbeStatusSource({ runners: [runner], environments: ['local'], refreshMs: 200 });
      exporter = await startExporter({ registry, status: source, port: 0, events: { minIntervalMs: 100 } });
      browser = await launchChromium();

      expect((await fetch(`${exporter.url}/readyz`)).status).toBe(503);
      const { page, consoleErrors, pageErrors } = await openPage(browser, `${exporter.url}/`);
      await page.waitForSelector('section[data-environment="local"]', { timeout: 15_000 });

      await runner.start();
      expect(await runner.waitUntilSubscribed(20_000)).toBe(true);
      const rounds = [];
      for (let i = 0; i < 2; i++) rounds.push(await runner.runRound());
      expect(rounds.every((round) => round.success)).toBe(true);
      expect((await fetch(`${exporter.url}/readyz`)).status).toBe(200);

      // Six real events: every path's chart has a line through them.
      await page.waitForFunction(
        () =>
          ['postgres_changes', 'broadcast', 'polling'].every(
            (path) =>
              (
                document
                  .querySelector(`svg.chart[data-path="${path}"] path.series-line`)
                  ?.getAttribute('d') ?? ''
              ).split('L').length >= 6,
          ),
        undefined,
        { timeout: 20_000 },
      );
      const subscribed = await page
        .locator('table:has(caption:text("Subscribers by status")) tbody tr td.ok')
        .allTextContents();
      expect(subscribed).toEqual(['1', '1']);
      const eventRows = page.locator('table:has(caption:text("Latest events")) tbody tr');
      expect(await eventRows.count()).toBe(6);
      expect(await page.locator('table:has(caption:text("Latest events")) td.bad').count()).toBe(0);
      expect(await page.textContent('article.probe .summary')).toContain('all delivered in time');

      // Lose every postgres_changes delivery at the target: the page must show the drops as they happen.
      await environment.target.faults.update({ postgresChanges: { dropRate: 1 } });
      const lossy = await runner.runRound();
      expect(lossy.success).toBe(false);
      await page.waitForFunction(
        () => document.querySelectorAll('svg.chart[data-path="postgres_changes"] path.drop-mark').length >= 3,
        undefined,
        { timeout: 20_000 },
      );
      const droppedCells = page.locator('table:has(caption:text("Latest events")) td.bad');
      expect(await droppedCells.allTextContents()).toEqual(['dropped', 'dropped', 'dropped']);
      // The round's verdict reaches the page with the next status refresh, possibly after the drops.
      await page.waitForFunction(
        () =>
          document
            .querySelector('article.probe .summary')
            ?.textContent?.includes('missed or late deliveries'),
        undefined,
        { timeout: 10_000 },
      );

      const screenshot = artifactPath('status-page-local-target.png');
      await page.screenshot({ path: screenshot, fullPage: true });
      console.log(`status page screenshot (real probe runner): ${screenshot}`);
      expect(pageErrors).toEqual([]);
      expect(consoleErrors).toEqual([]);
    }, 90_000);
  },
);
