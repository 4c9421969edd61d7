/**
 * The HTML report of a real (short) load run, opened in headless Chromium: the three plots are
 * drawn (non-empty SVG paths), the page logs no errors, and a screenshot lands in artifacts/.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { probeSchema } from '../../src/config/index.js';
import { runScenario, scenarioSchema } from '../../src/load/index.js';
import { createMetrics } from '../../src/metrics/index.js';
import { buildLoadReport, writeReports } from '../../src/report/index.js';
import { evaluateSlos, loadSloFile, registrySource, type MetricSnapshot } from '../../src/slo/index.js';
import { artifactPath, launchChromium, openPage, skipWithoutChromium } from '../helpers/chromium.js';
import { repoRoot, SHARED_MACHINE_HARNESS, tempDir } from './load-support.js';
import { startLocalEnvironment } from './probe-support.js';

describe.skipIf(skipWithoutChromium)('the HTML report in a browser', () => {
  let environment: Awaited<ReturnType<typeof startLocalEnvironment>> | undefined;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;

  afterAll(async () => {
    await browser?.close();
    await environment?.env.close();
  });

  it('draws the latency CDF, latency over time and subscribers plots without console errors', async () => {
    environment = await startLocalEnvironment({ name: 'local', mechanics: 2 });
    const scenario = scenarioSchema.parse({
      version: 'canary.scenario/v1',
      name: 'html-check',
      description: 'A short ramp to fill every plot.',
      executor: 'ramping-subscribers',
      stages: [
        { duration: '3s', target: 4 },
        { duration: '5s', target: 4 },
      ],
      rate: 3,
      deadline: '3s',
      lateAfter: '1s',
      harness: SHARED_MACHINE_HARNESS,
    });
    const probe = probeSchema.parse({ name: 'waiver-to-mechanic', pollInterval: '500ms' });
    const { registry, metrics } = createMetrics();
    const result = await runScenario({ scenario, env: environment.env, probe, metrics });
    expect(result.failure, JSON.stringify(result.failure)).toBeUndefined();
    const slos = loadSloFile(path.join(repoRoot, 'slos/delivery.yaml')).slos;
    const verdict = await evaluateSlos(slos, registrySource(registry), { env: 'local' });
    const snapshot = (await registry.getMetricsAsJSON()) as unknown as MetricSnapshot[];
    const files = writeReports(buildLoadReport(result, verdict, snapshot), tempDir('report-html'));

    browser = await launchChromium();
    const { page, consoleErrors, pageErrors } = await openPage(browser, pathToFileURL(files.html).href);
    for (const id of ['latency-cdf', 'latency-over-time', 'subscribers-over-time']) {
      const drawn = await page.$$eval(`svg#${id} path.series`, (paths) =>
        paths.map((p) => ({ d: p.getAttribute('d') ?? '', width: p.getBoundingClientRect().width })),
      );
      expect(drawn.length, id).toBeGreaterThan(0);
      expect(
        drawn.some((p) => p.d.split(/[LHV]/).length > 3 && p.width > 50),
        id,
      ).toBe(true);
    }
    const cdfSeries = await page.$$eval('svg#latency-cdf path.series', (paths) =>
      paths.map((p) => p.getAttribute('data-series')),
    );
    expect(cdfSeries).toEqual(expect.arrayContaining(['postgres_changes', 'broadcast', 'polling']));
    expect(await page.textContent('h1')).toContain('load test html-check on local');
    expect(consoleErrors).toEqual([]);
    expect(pageErrors).toEqual([]);

    const screenshot = artifactPath('report-html.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`HTML report screenshot: ${screenshot}`);
  }, 150_000);
});
