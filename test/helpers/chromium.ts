/**
 * Headless Chromium for tests: the Debian binary driven over the DevTools protocol by
 * playwright-core (which downloads no browser of its own). `openPage` collects console errors and
 * uncaught page errors so a test can assert a page runs cleanly.
 *
 * When the binary is missing the suite should skip locally but fail in CI: use
 * `describe.skipIf(skipWithoutChromium)`, and launchChromium throws a clear error otherwise.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_BINARY = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

export const chromiumAvailable = fs.existsSync(CHROMIUM_BINARY);

/** Skip only on a developer machine; in CI a missing Chromium is a failure. */
export const skipWithoutChromium = !chromiumAvailable && process.env.CI !== 'true';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export async function launchChromium(): Promise<Browser> {
  if (!chromiumAvailable) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM_BINARY}: install the Debian package (apt-get install chromium) or set CHROMIUM_BIN`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_BINARY,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30_000,
  });
}

export interface WatchedPage {
  page: Page;
  /** console.error messages and failed resource loads reported to the console. */
  consoleErrors: string[];
  /** Uncaught exceptions thrown by page scripts. */
  pageErrors: string[];
}

export async function openPage(browser: Browser, url: string): Promise<WatchedPage> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const consoleErrors: string[] = [];
  const pageErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(url, { waitUntil: 'load', timeout: 30_000 });
  return { page, consoleErrors, pageErrors };
}

/** Where tests put screenshots and other artefacts (gitignored). */
export function artifactPath(name: string): string {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'artifacts');
  fs.mkdirSync(root, { recursive: true });
  return path.join(root, name);
}
