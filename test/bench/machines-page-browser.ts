/**
 * The machines page measured in real Chromium (playwright-core with the system's chromium), as the
 * page itself marks it: `gc:machines:first-rows` (ms from navigation start to the first rows on
 * screen) and `gc:machines:filter` (ms from the last keystroke of a filter to its rows on screen).
 * Beside each, the API request the page made for it, from the browser's resource timing.
 */
import { launchBrowser, newPage, signIn } from '../support/browser.js';

export interface MachinesPageTimings {
  /** One per fresh navigation to the page. */
  firstRows: { ms: number; apiMs: number; rows: number }[];
  /** One per filter typed. */
  filters: { q: string; ms: number; apiMs: number; rows: number; matching: number }[];
  /** The total the page's header showed. */
  shownTotal: string;
  screenshot?: string;
}

export interface MachinesPageBenchOptions {
  url: string;
  user: { name: string; password: string };
  /** Fresh navigations to time. */
  loads: number;
  /** Filters to type, one after another (each into an emptied box). */
  filters: string[];
  /** Where to save a screenshot of the first page (PNG), if anywhere. */
  screenshotPath?: string;
  /** Delay between keystrokes, as a quick typist. */
  keyDelayMs?: number;
}

/** The duration of the newest /api/machines request the page made (resource timing, ms). */
const lastApiMs = `(() => {
  const r = performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/machines'));
  const e = r[r.length - 1];
  return e ? e.responseEnd - e.startTime : -1;
})()`;

export async function measureMachinesPage(o: MachinesPageBenchOptions): Promise<MachinesPageTimings> {
  const browser = await launchBrowser();
  try {
    const { page } = await newPage(browser);
    await signIn(page, o.url, o.user, '/');
    const out: MachinesPageTimings = { firstRows: [], filters: [], shownTotal: '' };
    for (let i = 0; i < o.loads; i++) {
      await page.goto(`${o.url}/`);
      const mark = await page.waitForFunction(
        () => {
          const m = performance.getEntriesByName('gc:machines:first-rows')[0] as PerformanceMark | undefined;
          return m ? { ms: m.startTime, rows: (m.detail as { rows: number }).rows } : false;
        },
        undefined,
        { timeout: 30_000 },
      );
      const m = (await mark.jsonValue()) as { ms: number; rows: number };
      out.firstRows.push({ ...m, apiMs: (await page.evaluate(lastApiMs)) as number });
    }
    out.shownTotal = (await page.locator('[data-testid=machines-count]').textContent()) ?? '';
    if (o.screenshotPath) {
      await page.screenshot({ path: o.screenshotPath });
      out.screenshot = o.screenshotPath;
    }
    const box = page.locator('[data-testid=machines-filter]');
    for (const q of o.filters) {
      // Back to the unfiltered list first, so every filter starts from the same screen.
      await box.fill('');
      await page.waitForFunction(() => (document.querySelector('[data-testid=machines-table] tbody') as HTMLElement | null)?.dataset.q === '', undefined, { timeout: 30_000 });
      await page.evaluate(() => performance.clearMeasures('gc:machines:filter'));
      await box.pressSequentially(q, { delay: o.keyDelayMs ?? 40 });
      const measure = await page.waitForFunction(
        (want) => {
          const m = performance.getEntriesByName('gc:machines:filter').find((e) => (e as PerformanceMeasure).detail?.q === want) as PerformanceMeasure | undefined;
          return m ? { ms: m.duration, ...(m.detail as { rows: number; matching: number }) } : false;
        },
        q,
        { timeout: 30_000 },
      );
      const f = (await measure.jsonValue()) as { ms: number; rows: number; matching: number };
      out.filters.push({ q, ...f, apiMs: (await page.evaluate(lastApiMs)) as number });
    }
    return out;
  } finally {
    await browser.close();
  }
}
