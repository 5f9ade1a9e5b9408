/**
 * The machines page over a fleet larger than one page, in real Chromium (issue 18 goal 4): it shows
 * one server page at a time, pages forward and back with the server's cursors, and filters on the
 * server as one types (text and status). Functional only: the timings are measured by
 * `npm run bench:load`, never asserted here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { collectPageErrors, launchBrowser, newPage, screenshot, signIn } from '../support/browser.js';
import { TEST_PASSWORD, type TestGateway, startTestGateway } from '../support/gateway.js';

const N = 250;
const id = (i: number) => `pc-${String(i).padStart(3, '0')}`;
// Every 5th machine stopped beating an hour ago; every 10th has jdoe logged on.
const offline = (i: number) => i % 5 === 0;

describe('dashboard: machines page pages and filters on the server (real Chromium)', { timeout: 180_000 }, () => {
  let t: TestGateway;
  let browser: Browser;
  let page: Page;
  let errors: string[];

  before(async () => {
    t = await startTestGateway({ dashboard: true });
    const now = Date.now();
    await t.backbone.db
      .insertInto('machines')
      .values(
        Array.from({ length: N }, (_, i) => ({
          agent_id: id(i),
          hostname: `${id(i)}.corp`,
          os_version: 'Windows 11',
          platform: 'windows',
          agent_version: '1',
          elevated: true,
          current_session_id: 1,
          session_count: 1,
          users: i % 10 === 3 ? ['jdoe'] : [`user${i}`],
          heartbeat_interval_ms: 30_000,
          state: 'online',
          first_seen: new Date(now - 86_400_000),
          last_seen: new Date(offline(i) ? now - 3_600_000 : now + 600_000),
          last_seq: String(i + 1),
        })),
      )
      .execute();
    await t.userToken('adele', 'admin');
    browser = await launchBrowser();
    ({ page } = await newPage(browser));
    errors = collectPageErrors(page);
    await signIn(page, t.url, { name: 'adele', password: TEST_PASSWORD }, '/');
  });
  after(async () => {
    await browser?.close();
    await t?.stop();
  });

  /** Agent ids of the rows on screen once the table shows `want` (q, status and page). */
  const rowsFor = async (want: { q?: string; status?: string; page?: number }) => {
    await page.waitForFunction(
      (w) => {
        const body = document.querySelector('[data-testid=machines-table] tbody') as HTMLElement | null;
        return !!body && body.dataset.q === (w.q ?? '') && body.dataset.status === (w.status ?? 'all') && body.dataset.page === String(w.page ?? 0) && !body.textContent?.includes('Loading');
      },
      want,
      { timeout: 15_000 },
    );
    return page.locator('[data-testid=machines-table] tbody tr[data-agent-id]').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.agentId ?? ''));
  };

  it('shows the first page of 100 and the fleet counts', async () => {
    const rows = await rowsFor({});
    assert.deepEqual(
      rows,
      Array.from({ length: 100 }, (_, i) => id(i)),
    );
    assert.equal(await page.locator('[data-testid=machines-count]').textContent(), `250 machines · ${N - N / 5} online`);
    assert.equal(await page.locator('[data-testid=page-info]').textContent(), '1–100 of 250');
    assert.equal(await page.locator('[data-action=prev-page]').isDisabled(), true);
    await screenshot(page, 'machines-paging');
  });

  it('pages forward to the end and back with the server cursors', async () => {
    await page.click('[data-action=next-page]');
    assert.deepEqual(
      await rowsFor({ page: 1 }),
      Array.from({ length: 100 }, (_, i) => id(100 + i)),
    );
    await page.click('[data-action=next-page]');
    assert.deepEqual(
      await rowsFor({ page: 2 }),
      Array.from({ length: 50 }, (_, i) => id(200 + i)),
    );
    assert.equal(await page.locator('[data-testid=page-info]').textContent(), '201–250 of 250');
    assert.equal(await page.locator('[data-action=next-page]').isDisabled(), true);
    await page.click('[data-action=prev-page]');
    assert.equal((await rowsFor({ page: 1 }))[0], id(100));
  });

  it('filters on the server as one types, from the first page, and by status', async () => {
    await page.fill('[data-testid=machines-filter]', '');
    await page.locator('[data-testid=machines-filter]').pressSequentially('pc-24', { delay: 20 });
    assert.deepEqual(
      await rowsFor({ q: 'pc-24' }),
      Array.from({ length: 10 }, (_, i) => id(240 + i)),
    );
    assert.equal(await page.locator('[data-testid=machines-count]').textContent(), `250 machines · ${N - N / 5} online · 10 match`);
    // A logged-on user, found on the server beyond the first page's rows.
    await page.fill('[data-testid=machines-filter]', 'JDOE');
    const jdoe = await rowsFor({ q: 'JDOE' });
    assert.deepEqual(
      jdoe,
      Array.from({ length: N }, (_, i) => i)
        .filter((i) => i % 10 === 3)
        .map(id),
    );
    await page.selectOption('[data-testid=machines-status]', 'offline');
    assert.deepEqual(await rowsFor({ q: 'JDOE', status: 'offline' }), [], 'jdoe is on machines 3, 13, 23, ... none of them a multiple of 5');
    assert.equal(await page.locator('[data-testid=machines-table] tbody td.empty').textContent(), 'No machine matches the filter.');
    await page.fill('[data-testid=machines-filter]', '');
    const off = await rowsFor({ status: 'offline' });
    assert.deepEqual(
      off,
      Array.from({ length: N / 5 }, (_, i) => id(i * 5)),
    );
    assert.deepEqual(errors, []);
  });
});
