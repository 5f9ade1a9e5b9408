/**
 * Backstage in real Chromium against the whole stack: an admin enters it, runs a command in the
 * terminal and reads processes and system info, and the services this host's manager has (or why it
 * has none); a viewer-role technician has no button
 * and a forged backstage.enter over the page's own socket is refused with FORBIDDEN.
 */
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { withStack } from '../support/e2e-stack.js';
import { collectPageErrors, grantMachine, newPage, openBackstage, screenshot, signIn } from '../support/browser.js';
import { skipUnlessServiceManager } from '../support/host.js';

/** The toolbar text of the pane on show ("N services", "Not available: ..."). */
const paneInfo = async (page: Page) => (await page.locator('.pane:not([hidden]) .pane-toolbar .muted').textContent()) ?? '';
/** Waits until the pane on show has the agent's answer (either kind). */
const waitForPaneInfo = (page: Page) =>
  page.waitForFunction(() => /^\d+ services$|^Not available: /.test(document.querySelector('.pane:not([hidden]) .pane-toolbar .muted')?.textContent ?? ''), null, { timeout: 20_000 });

describe('dashboard: backstage (real Chromium, whole stack)', () => {
  const e2e = withStack({ users: ['gc-alice', 'gc-bob'], colors: ['#ff0000', '#0000ff'] });

  it('admin: enters backstage, runs hostname, lists processes, sees system info', async () => {
    const { stack, browser } = e2e;
    const { context, page } = await newPage(browser);
    const errors = collectPageErrors(page);
    const socketId = await openBackstage(page, stack, e2e.displays.displays[0]!.display + 1);
    assert.equal(await page.evaluate(() => window.__gcViewer!.mode), 'backstage');

    await page.locator('[data-testid=terminal]').click();
    await page.keyboard.type('hostname');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /\[exit \d+/.test(window.__gcViewer!.terminalText()), null, { timeout: 20_000 });
    const text = await page.evaluate(() => window.__gcViewer!.terminalText());
    const lines = text.split('\n').map((l) => l.trim());
    const cmdLine = lines.findIndex((l) => l.endsWith('> hostname'));
    assert.ok(cmdLine >= 0, text);
    assert.equal(lines[cmdLine + 1], hostname(), text);
    assert.match(lines[cmdLine + 2] ?? '', /^\[exit 0 · \d+ ms/);
    // Also visible in the rendered terminal, not only in its buffer (painted on the next animation frame).
    await page.locator('[data-testid=terminal] .xterm-rows', { hasText: hostname() }).waitFor({ timeout: 20_000 });
    await screenshot(page, 'backstage-terminal');

    // System info arrives when backstage opens.
    await page.waitForFunction((h) => document.querySelector('[data-testid=system-info]')?.textContent?.includes(h), hostname(), { timeout: 20_000 });
    const sys = (await page.locator('[data-testid=system-info]').textContent()) ?? '';
    assert.match(sys, /CPUs\d+/);
    assert.match(sys, /gc-alice/);

    await page.click('[data-tab=processes]');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=processes-table] tbody tr td.num').length > 0, null, { timeout: 20_000 });
    const procText = (await page.locator('[data-testid=processes-table] tbody').textContent()) ?? '';
    assert.ok(procText.includes('Xvfb'), "the users' X servers are in the process list");
    await page.fill('[data-testid=processes-filter]', 'Xvfb');
    const filtered = await page.locator('[data-testid=processes-table] tbody tr').allTextContents();
    assert.ok(filtered.length >= 2 && filtered.every((r) => r.includes('Xvfb')), filtered.join('\n'));
    // Sorting by a numeric column starts with the largest; a second click flips the order.
    await page.click('[data-testid=processes-table] th[data-sort-key=pid]');
    const desc = await page.locator('[data-testid=processes-table] tbody tr td:first-child').allTextContents();
    await page.click('[data-testid=processes-table] th[data-sort-key=pid]');
    const asc = await page.locator('[data-testid=processes-table] tbody tr td:first-child').allTextContents();
    assert.deepEqual(
      desc.map(Number),
      [...desc.map(Number)].sort((a, b) => b - a),
    );
    assert.deepEqual(asc, [...desc].reverse());
    await screenshot(page, 'backstage-processes');

    await page.click('[data-action=exit-backstage]');
    await page.waitForFunction(() => window.__gcViewer!.mode === 'screen' && window.__gcViewer!.framesPainted > 0, null, { timeout: 30_000 });
    assert.equal(await page.evaluate(() => window.__gcViewer!.socketId), socketId);
    assert.deepEqual(await page.evaluate(() => window.__gcViewer!.errors), []);
    assert.deepEqual(
      errors.filter((e) => !e.includes('401')),
      [],
    );
    await context.close();
  });

  // What the services tab must show depends on this host's service manager (test/support/host.ts).
  it("admin: the services tab lists the host's services, postgresql among them", { skip: skipUnlessServiceManager('systemd', 'sysv') }, async () => {
    const { stack, browser } = e2e;
    const { context, page } = await newPage(browser);
    await openBackstage(page, stack, e2e.displays.displays[0]!.display + 1);
    await page.click('[data-tab=services]');
    await waitForPaneInfo(page);
    const info = await paneInfo(page);
    assert.match(info, /^\d+ services$/);
    const count = Number(info.split(' ')[0]);
    const rows = page.locator('[data-testid=services-table] tbody tr');
    assert.ok(count > 0);
    assert.equal(await rows.count(), count);
    // install-deps.sh installs PostgreSQL: its service (init script or unit) is on every such host.
    const names = await page.locator('[data-testid=services-table] tbody tr td:first-child').allTextContents();
    assert.ok(
      names.some((n) => /^postgresql(\.service)?$/.test(n.trim())),
      names.join(', '),
    );
    await screenshot(page, 'backstage-services');
    await context.close();
  });

  it('admin: the services tab says why there are none', { skip: skipUnlessServiceManager('none') }, async () => {
    const { stack, browser } = e2e;
    const { context, page } = await newPage(browser);
    await openBackstage(page, stack, e2e.displays.displays[0]!.display + 1);
    await page.click('[data-tab=services]');
    await waitForPaneInfo(page);
    assert.match(await paneInfo(page), /^Not available: no service manager/);
    await context.close();
  });

  it('viewer role: no Enter Backstage button, and a forged backstage.enter gets FORBIDDEN', async () => {
    const { stack, browser, displays } = e2e;
    const vera = await stack.createUser('vera', 'viewer');
    await grantMachine(stack.url, stack.admin, vera, stack.agentId!);
    const { context, page } = await newPage(browser);
    // Our own session: other tests' displays on this machine may come and go meanwhile.
    await signIn(page, stack.url, vera, `/machines/${stack.agentId}?session=${displays.displays[0]!.display + 1}`);
    await page.waitForFunction(() => window.__gcViewer?.viewerId !== undefined && window.__gcViewer.currentSession !== undefined, null, { timeout: 60_000 });
    assert.equal(await page.locator('[data-action=enter-backstage]').isVisible(), false);
    assert.equal(await page.locator('[data-testid=view-only]').isVisible(), true);

    // Forged from the page with its own cookie on a second socket: the dashboard has no way to send it.
    const answer = await page.evaluate(
      (agentId) =>
        new Promise<string>((resolve, reject) => {
          const ws = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/ws/viewer/${encodeURIComponent(agentId)}`);
          const timer = setTimeout(() => reject(new Error('no answer to the forged backstage.enter')), 10_000);
          ws.onmessage = (e) => {
            const m = JSON.parse(String(e.data)) as { t: string; error_code?: string };
            if (m.t === 'hello') ws.send(JSON.stringify({ t: 'backstage.enter' }));
            if (m.t === 'backstage.entered' || m.t === 'error') {
              clearTimeout(timer);
              ws.close();
              resolve(m.error_code ?? m.t);
            }
          };
        }),
      stack.agentId!,
    );
    assert.equal(answer, 'FORBIDDEN');
    assert.equal(await page.evaluate(() => window.__gcViewer!.mode), 'screen');
    assert.equal(await page.locator('[data-testid=backstage]').count(), 0);
    await screenshot(page, 'viewer-role-forbidden');
    await context.close();
  });
});
