/**
 * The API's documentation as a person sees it: /docs opened in a real headless browser (Debian's
 * chromium, driven by puppeteer-core; infra/tools/install-test-tools.sh installs it), on an API
 * built on real temporary databases. The page must load without a script error or a failed
 * request, list every operation of /openapi.json, and its "Try it out" must reach the API.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { withBatchDatabases } from '@lambdamart/batch-layer/testing';
import { loadConfig } from '@lambdamart/core';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { operationsOf, withListeningApi } from './api-server.ts';

const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const docsScreenshot = join(tmpdir(), 'lambdamart-api-docs.png');

/** Operations shown on the page, as `METHOD /path` (Swagger UI breaks long paths with zero-width spaces). */
const shownOperations = (page: Page) =>
  page.$$eval('.opblock', (blocks) =>
    blocks.map((block) => {
      const method = block.querySelector('.opblock-summary-method')?.textContent ?? '';
      const path =
        block.querySelector('.opblock-summary-path')?.getAttribute('data-path') ??
        block.querySelector('.opblock-summary-path')?.textContent ??
        '';
      return `${method.trim().toUpperCase()} ${path.replace(/\u200b|\u2060/g, '').trim()}`;
    }),
  );

describe('the API docs in a real browser', () => {
  let browser: Browser;

  before(async () => {
    assert.ok(existsSync(chromium), `${chromium} is missing: run infra/tools/install-test-tools.sh (or set CHROMIUM_PATH)`);
    // --no-sandbox: tests run as root in CI, where chromium's sandbox refuses to start.
    browser = await puppeteer.launch({
      executablePath: chromium,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
  });
  after(async () => {
    await browser?.close();
  });

  it('renders /docs with every operation of /openapi.json, and Try it out reaches the API', { timeout: 120_000 }, async () => {
    await withBatchDatabases('api_docs', async ({ rtUrl, whUrl, lakeDir }) => {
      const config = loadConfig({ REALTIME_DATABASE_URL: rtUrl, WAREHOUSE_DATABASE_URL: whUrl, LAKE_DIR: lakeDir, LOG_LEVEL: 'silent' });
      await withListeningApi({ config }, async ({ url }) => {
        const document = (await (await fetch(`${url}/openapi.json`)).json()) as {
          info: { title: string };
          paths: Record<string, Record<string, unknown>>;
        };
        const documented = operationsOf(document);
        assert.ok(documented.includes('GET /api/v1/kpis'), 'the document has GET /api/v1/kpis');

        const page = await browser.newPage();
        await page.setViewport({ width: 1280, height: 900 });
        const problems: string[] = [];
        page.on('pageerror', (error) => problems.push(`script error: ${error instanceof Error ? error.message : String(error)}`));
        page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} (${request.failure()?.errorText})`));
        page.on('response', (response) => {
          if (response.status() >= 400) problems.push(`${response.status()} for ${response.url()}`);
        });

        const response = await page.goto(`${url}/docs`, { waitUntil: 'networkidle0', timeout: 30_000 });
        assert.equal(response?.status(), 200, '/docs answers 200');
        await page.waitForSelector('.opblock', { timeout: 30_000 });
        const title = await page.$eval('.info .title', (element) => element.textContent ?? '');
        assert.ok(title.includes(document.info.title), `the page shows the API's title (${title})`);
        const shown = await shownOperations(page);
        await page.screenshot({ path: docsScreenshot, fullPage: true });
        assert.ok(shown.includes('GET /api/v1/kpis'), `GET /api/v1/kpis is shown (shown: ${shown.join(', ')})`);
        assert.deepEqual([...shown].sort(), [...documented].sort(), 'the page lists exactly the operations of /openapi.json');

        // Try it out on GET /health: the page calls the API from the browser and shows its answer.
        const health = await page.$('.opblock-get [data-path="/health"]');
        assert.ok(health, 'GET /health is on the page');
        await health.click();
        const block = await page.waitForSelector('#operations-health-getHealth, .opblock.is-open', { timeout: 10_000 });
        assert.ok(block);
        await (await block.waitForSelector('.try-out__btn'))?.click();
        await (await block.waitForSelector('.execute'))?.click();
        const status = await block.waitForSelector('.live-responses-table tbody .response-col_status', { timeout: 15_000 });
        const code = (await status?.evaluate((cell) => cell.textContent ?? ''))?.trim();
        assert.equal(code, '200', 'Try it out on GET /health shows 200');
        assert.deepEqual(problems, [], 'no script error and no failed request on the page');
        await page.close();
      });
    });
  });
});
