import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReport } from '../sandbox/report/page.ts';
import type { ScenarioResult } from '../sandbox/run-scenario.ts';
import { loadScenario } from '../sandbox/run-scenario.ts';
import { root, runInProcess, tempDir } from './cli-support.ts';

/** Debian's Chromium (`apt-get install chromium`); SHIPLINE_CHROMIUM names another build. */
const CHROMIUM = process.env.SHIPLINE_CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const SKIP_MESSAGE = `skipped: no Chromium at ${CHROMIUM}. Install it with \`apt-get update && apt-get install -y chromium\` (Debian/Ubuntu), or set SHIPLINE_CHROMIUM to a Chromium binary`;
if (!hasChromium) console.warn(`report-browser.test.ts ${SKIP_MESSAGE}`);

const SCENARIO = 'examples/bad-version-rolled-back.yml';

/** Set SHIPLINE_REPORT_SCREENSHOTS=dir to keep screenshots of the page (wide and phone) for a person to look at. */
const SCREENSHOTS = process.env.SHIPLINE_REPORT_SCREENSHOTS;

let context: BrowserContext | undefined;
/** The browser's profile: new and empty for this file, removed after it. */
let profile: string | undefined;
let page: Page;
let result: ScenarioResult;
let reportUrl: string;
const consoleErrors: string[] = [];
/** Every request the page made but for the report file itself. */
const requests: string[] = [];

/** A rendered element's horizontal centre, in CSS pixels. */
const centreX = async (page: Page, selector: string): Promise<number> => {
  const box = await page.locator(selector).boundingBox();
  if (!box) throw new Error(`${selector} is not rendered`);
  return box.x + box.width / 2;
};

/** The virtual time (seconds) at a rendered x, read off the visible plot's time axis, as a person reads it. */
const timeAtX = async (page: Page, plot: string, x: number): Promise<number> => {
  const ticks = page.locator(`${plot} .time-tick`);
  const first = ticks.nth(0);
  const last = ticks.nth((await ticks.count()) - 1);
  const [m0, m1] = [
    Number(await first.getAttribute('data-minute')),
    Number(await last.getAttribute('data-minute')),
  ];
  const [box0, box1] = [await first.boundingBox(), await last.boundingBox()];
  if (!box0 || !box1) throw new Error('time ticks are not rendered');
  const [x0, x1] = [box0.x + box0.width / 2, box1.x + box1.width / 2];
  return (m0 + ((x - x0) / (x1 - x0)) * (m1 - m0)) * 60;
};

describe.skipIf(!hasChromium)(
  `Report: what a person sees in Chromium${hasChromium ? '' : ` (${SKIP_MESSAGE})`}`,
  () => {
    beforeAll(async () => {
      const dir = tempDir();
      const file = path.join(dir, 'report.html');
      const cli = await runInProcess(['simulate', '--scenario', SCENARIO, '--json', '--report', file]);
      expect(cli.stderr).toBe('');
      expect(cli.code).toBe(0);
      result = JSON.parse(cli.stdout) as ScenarioResult;
      reportUrl = pathToFileURL(file).href;
      // A new, empty profile: nothing from another run (cache, service workers) can change what is seen.
      profile = mkdtempSync(path.join(tmpdir(), 'shipline-chromium-'));
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
        viewport: { width: 1280, height: 900 },
      });
      page = context.pages()[0] ?? (await context.newPage());
      page.on('console', (message) => {
        if (message.type() === 'error') consoleErrors.push(message.text());
      });
      page.on('pageerror', (error) => consoleErrors.push(error.message));
      context.on('request', (request) => {
        if (!request.url().startsWith('file://')) requests.push(request.url());
      });
      // Anything but a local file is refused, so a slip could never reach the network.
      await context.route(/^(?!file:)/, (route) => route.abort());
      await page.goto(reportUrl);
    }, 60_000);

    afterAll(async () => {
      await context?.close();
      if (profile) rmSync(profile, { recursive: true, force: true });
    });

    it('shows the scenario and its outcome in words', async () => {
      await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(
        'Release report: Bad version is rolled back at 5%',
      );
      const outcome = page.locator('article.service-outcome[data-service="checkout"]');
      await expect(outcome.locator('.outcome').innerText()).resolves.toBe('↩ Rolled back');
      await expect(outcome.innerText()).resolves.toContain('alarm checkout-green-5xx went to ALARM at 5%');
      await expect(page.locator('header').innerText()).resolves.toMatch(/Expectations\s+✓ all met/);
    });

    it("draws each version's share, error rate and latency as named series", async () => {
      const plot = page.locator('.plot-wide');
      for (const name of [
        'v1 traffic share',
        'v2 traffic share',
        'v1 error rate',
        'v2 error rate',
        'v1 Average latency',
        'v2 Average latency',
      ]) {
        const series = plot.getByRole('img', { name, exact: true });
        await expect(series.count()).resolves.toBe(1);
        // A flat line has no height (SVG boxes leave the stroke out): drawn is rendered, and wide.
        const box = await series.boundingBox();
        expect(box?.width ?? 0).toBeGreaterThan(100);
        await expect(series.getAttribute('stroke')).resolves.toMatch(/^#[0-9a-f]{6}$/);
      }
      await expect(page.getByText('v2 (the new version)').isVisible()).resolves.toBe(true);
    });

    it('marks the alarm transition and the rollback where they happened on the time axis', async () => {
      /** A time of the run as the page prints it: +HH:MM:SS since the scenario's start, rounded to the second. */
      const clock = (t: number): string => `+${new Date(Math.round(t) * 1000).toISOString().slice(11, 19)}`;
      const series = result.services.checkout?.series;
      const rollback = series?.markers.find((m) => m.kind === 'rollback');
      const alarm = series?.alarms.find((a) => a.to === 'ALARM');
      if (!rollback || !alarm) throw new Error('the run recorded no rollback or no alarm');
      // The rollback is where traffic went back: the alarm plus the reaction the summary reports.
      expect(rollback.t).toBeCloseTo(alarm.t + (result.rollbackReactionSeconds ?? Number.NaN), 3);
      const plot = '.plot-wide';
      const rollbackX = await centreX(page, `${plot} line.event-line[data-kind="rollback"]`);
      // One CSS pixel is about 0.7 s of this plot's time axis.
      expect(Math.abs((await timeAtX(page, plot, rollbackX)) - rollback.t)).toBeLessThan(2);
      const alarmX = await centreX(page, `${plot} line.event-line[data-kind="alarm"]`);
      expect(Math.abs((await timeAtX(page, plot, alarmX)) - alarm.t)).toBeLessThan(2);
      await expect(
        page
          .locator(plot)
          .getByRole('img', { name: `1. ${clock(alarm.t)} checkout-green-5xx: OK → ALARM` })
          .isVisible(),
      ).resolves.toBe(true);
      await expect(
        page
          .locator(plot)
          .getByRole('img', {
            name: new RegExp(`^2\\. \\${clock(rollback.t)} Rolled back v2: v1 serves 100% again`),
          })
          .isVisible(),
      ).resolves.toBe(true);
      const events = await page.locator('.service-plot ol.events li').allInnerTexts();
      expect(events.map((e) => e.replace(/\s+/g, ' '))).toEqual([
        `1 Alarm at ${clock(alarm.t)}: checkout-green-5xx: OK → ALARM`,
        expect.stringMatching(
          new RegExp(
            `^2 Rollback at \\${clock(rollback.t)}: Rolled back v2: v1 serves 100% again \\(alarm checkout-green-5xx`,
          ),
        ),
      ]);
    });

    it('lists the timeline the text output prints', async () => {
      const rows = page.locator('table.timeline tbody tr');
      await expect(rows.count()).resolves.toBe(result.timeline.length);
      await expect(page.locator('table.timeline').innerText()).resolves.toContain(
        'checkout-green-5xx OK -> ALARM',
      );
    });

    it('reads at phone width: the narrow plot, legible type, nothing wider than the screen', async () => {
      if (SCREENSHOTS) {
        mkdirSync(SCREENSHOTS, { recursive: true });
        await page.screenshot({ path: path.join(SCREENSHOTS, 'report-wide.png'), fullPage: true });
      }
      await page.setViewportSize({ width: 375, height: 800 });
      await expect(page.locator('.plot-wide').isVisible()).resolves.toBe(false);
      const narrow = page.locator('.plot-narrow');
      await expect(narrow.isVisible()).resolves.toBe(true);
      const errors = await narrow.getByRole('img', { name: 'v2 error rate', exact: true }).boundingBox();
      expect(errors?.width ?? 0).toBeGreaterThan(30);
      const pageWidth = await page.evaluate<number>('document.documentElement.scrollWidth');
      expect(pageWidth).toBeLessThanOrEqual(375);
      // Tick labels as rendered: at least 10 CSS pixels tall.
      const tick = await narrow.locator('.time-tick').first().boundingBox();
      expect(tick?.height ?? 0).toBeGreaterThanOrEqual(10);
      const rollbackX = await centreX(page, '.plot-narrow line.event-line[data-kind="rollback"]');
      const rollback = result.services.checkout?.series?.markers[0]?.t ?? Number.NaN;
      expect(Math.abs((await timeAtX(page, '.plot-narrow', rollbackX)) - rollback)).toBeLessThan(4);
      if (SCREENSHOTS)
        await page.screenshot({ path: path.join(SCREENSHOTS, 'report-phone.png'), fullPage: true });
      await page.setViewportSize({ width: 1280, height: 900 });
    });

    it('shows a hostile scenario name as text and runs nothing', async () => {
      const { scenario } = loadScenario(path.join(root, SCENARIO));
      const hostile =
        '<script>window.shiplinePwned = 1</script><img src=x onerror="window.shiplinePwned = 2">';
      const file = path.join(tempDir(), 'hostile.html');
      writeFileSync(
        file,
        renderReport({
          result,
          scenario: { ...scenario, name: hostile, description: hostile },
          file: hostile,
        }),
      );
      await page.goto(pathToFileURL(file).href);
      await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe(
        `Release report: ${hostile}`,
      );
      await expect(page.evaluate<boolean>("'shiplinePwned' in window")).resolves.toBe(false);
      await expect(page.locator('script, img').count()).resolves.toBe(0);
      await page.goto(reportUrl);
    });

    it('made no network request and logged no console error', () => {
      expect(requests).toEqual([]);
      expect(consoleErrors).toEqual([]);
      expect(readFileSync(new URL(reportUrl), 'utf8')).not.toMatch(/https?:\/\//);
    });
  },
);
