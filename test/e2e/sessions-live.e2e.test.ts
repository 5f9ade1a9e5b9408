/**
 * Richer session details, live: with the machines page open, a third user's X display appears (a
 * new session on the machine) and the page shows it with its logon and idle time without a reload;
 * the sessions modal and the viewer's session selector show the same facts.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { withStack } from '../support/e2e-stack.js';
import { collectPageErrors, newPage, screenshot, signIn } from '../support/browser.js';
import { startUserDisplays } from '../../infra/servers/x-displays.js';

describe('dashboard: session details update live', { timeout: 120_000 }, () => {
  const e2e = withStack({ users: ['gc-alice', 'gc-bob'], colors: ['#ff0000', '#0000ff'] });
  let carol: Awaited<ReturnType<typeof startUserDisplays>> | undefined;
  after(async () => {
    await carol?.stop();
  });

  it('a new session appears on the open machines page with logon and idle time, without a reload', async () => {
    const { stack, browser, displays } = e2e;
    const { context, page } = await newPage(browser);
    const errors = collectPageErrors(page);
    let loads = 0;
    page.on('load', () => loads++);
    await signIn(page, stack.url, stack.admin);
    const row = page.locator(`tr[data-agent-id="${stack.agentId}"]`);
    await row.waitFor();
    await row.click();
    // By session id, not user: another test running at the same time may have its own gc-bob display.
    const bob = page.locator(`[data-testid=detail-sessions] li[data-session-id="${displays.displays[1]!.display + 1}"]`);
    await bob.waitFor({ timeout: 30_000 });
    assert.match((await bob.locator('[data-fact=logon]').textContent()) ?? '', /^logon \d{1,2}:\d{2}/);
    assert.match((await bob.locator('[data-fact=idle]').textContent()) ?? '', /^idle (\d+s|\d+m \d+s)$/);
    const loadsBefore = loads;

    const started = Date.now();
    carol = await startUserDisplays(['gc-carol'], { colors: ['#00ff00'] });
    const shownAfterX = Date.now();
    const carolId = carol.displays[0]!.display + 1;
    const li = page.locator(`[data-testid=detail-sessions] li[data-session-id="${carolId}"]`);
    await li.waitFor({ timeout: 20_000 });
    const seen = Date.now();
    console.log(`gc-carol's session shown ${seen - shownAfterX} ms after its X server accepted clients (${seen - started} ms after starting it)`);
    assert.equal(loads, loadsBefore, 'no page reload');
    const station = carol.displays[0]!.name;
    assert.ok(((await li.textContent()) ?? '').includes(station), 'the station is shown');
    assert.match((await li.locator('[data-fact=logon]').textContent()) ?? '', /^logon \d{1,2}:\d{2}/);
    assert.match((await li.locator('[data-fact=idle]').textContent()) ?? '', /^idle (\d+s|\d+m \d+s)$/);
    // The users column follows too.
    await page.waitForFunction((id) => (document.querySelector(`tr[data-agent-id="${id}"] [data-testid=users]`)?.textContent ?? '').includes('gc-carol'), stack.agentId, { timeout: 20_000 });
    await screenshot(page, 'sessions-live-detail');

    // The modal has the same facts per session, and reloads while open.
    await row.locator('[data-action=sessions]').click();
    const modalRow = page.locator(`[data-testid=sessions-table] tr[data-session-id="${carolId}"]`);
    await modalRow.waitFor();
    assert.match((await modalRow.locator('[data-col=logon]').textContent()) ?? '', /^\d{1,2}:\d{2}/);
    assert.match((await modalRow.locator('[data-col=idle]').textContent()) ?? '', /^(\d+s|\d+m \d+s)$/);
    assert.equal(await modalRow.locator('[data-col=locked]').textContent(), 'no');
    assert.equal(await modalRow.locator('[data-col=client-address]').textContent(), '—', 'a local display has no client address');
    await screenshot(page, 'sessions-live-modal');
    // Gone when the display goes away, while the modal stays open.
    await carol.stop();
    carol = undefined;
    await modalRow.waitFor({ state: 'detached', timeout: 20_000 });
    assert.deepEqual(
      errors.filter((e) => !e.includes('401')),
      [],
    );
    await context.close();
  });

  it('the viewer shows logon and idle time of the watched session and in the selector', async () => {
    const { stack, browser } = e2e;
    const { context, page } = await newPage(browser);
    await signIn(page, stack.url, stack.admin, `/machines/${stack.agentId}`);
    await page.waitForFunction(() => window.__gcViewer?.currentSession !== undefined, null, { timeout: 20_000 });
    await page.locator('[data-testid=session-facts] [data-fact=logon]').waitFor();
    assert.match((await page.locator('[data-testid=session-facts] [data-fact=logon]').textContent()) ?? '', /^logon \d{1,2}:\d{2}/);
    assert.match((await page.locator('[data-testid=session-facts] [data-fact=idle]').textContent()) ?? '', /^idle /);
    const options = await page.locator('[data-testid=session-select] option').allTextContents();
    const bobOption = options.find((o) => o.includes('gc-bob'));
    assert.ok(bobOption, options.join('\n'));
    assert.match(bobOption, /logon \d{1,2}:\d{2}( [AP]M)? · idle \d+/);
    await screenshot(page, 'sessions-live-viewer');
    await context.close();
  });
});
