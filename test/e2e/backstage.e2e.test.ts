/**
 * Backstage in real Chromium against the whole stack: an admin enters it, runs a command in the
 * terminal and reads services, processes and system info; a viewer-role technician has no button
 * and a forged backstage.enter over the page's own socket is refused with FORBIDDEN.
 */
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import type { Stack } from '../../infra/launcher/stack.js';
import { type E2eStack, startE2eStack } from '../support/e2e-stack.js';
import { collectPageErrors, grantMachine, newPage, screenshot, signIn } from '../support/browser.js';
import type { startUserDisplays } from '../../infra/servers/x-displays.js';

describe('dashboard: backstage (real Chromium, whole stack)', () => {
  let displays: Awaited<ReturnType<typeof startUserDisplays>>;
  let e2e: E2eStack | undefined;
  let stack: Stack;
  let browser: Browser;

  before(async () => {
    e2e = await startE2eStack({ users: ['gc-alice', 'gc-bob'], colors: ['#ff0000', '#0000ff'] });
    ({ displays, stack, browser } = e2e);
  });
  after(async () => {
    await e2e?.stop();
  });

  it('admin: enters backstage, runs hostname, lists services and processes, sees system info', async () => {
    const { context, page } = await newPage(browser);
    const errors = collectPageErrors(page);
    await signIn(page, stack.url, stack.admin, `/machines/${stack.agentId}`);
    const enter = page.locator('[data-action=enter-backstage]');
    await enter.waitFor({ state: 'visible' });
    const socketId = await page.evaluate(() => window.__gcViewer!.socketId);
    await enter.click();
    await page.locator('[data-testid=backstage]').waitFor({ state: 'visible' });
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
    // Also visible in the rendered terminal, not only in its buffer.
    assert.ok(((await page.locator('[data-testid=terminal] .xterm-rows').textContent()) ?? '').includes(hostname()));
    await screenshot(page, 'backstage-terminal');

    // System info arrives when backstage opens.
    await page.waitForFunction((h) => document.querySelector('[data-testid=system-info]')?.textContent?.includes(h), hostname(), { timeout: 20_000 });
    const sys = (await page.locator('[data-testid=system-info]').textContent()) ?? '';
    assert.match(sys, /CPUs\d+/);
    assert.match(sys, /gc-alice/);

    await page.click('[data-tab=services]');
    await page.waitForFunction(() => {
      const rows = document.querySelectorAll('[data-testid=services-table] tbody tr');
      return rows.length > 0 && !document.querySelector('[data-testid=services-table] tbody td.empty')?.textContent?.includes('No rows');
    }, null, { timeout: 20_000 }).catch(() => {});
    const svcRows = await page.locator('[data-testid=services-table] tbody tr').count();
    const svcInfo = (await page.locator('.pane:not([hidden]) .pane-toolbar .muted').textContent()) ?? '';
    // Either the host's services, or the agent's stated reason it has no service manager.
    assert.match(svcInfo, /^\d+ services$|^Not available: .+/);
    if (/^\d+ services$/.test(svcInfo)) assert.equal(svcRows, Number(svcInfo.split(' ')[0]) || 1);
    await screenshot(page, 'backstage-services');

    await page.click('[data-tab=processes]');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=processes-table] tbody tr td.num').length > 0, null, { timeout: 20_000 });
    const procText = (await page.locator('[data-testid=processes-table] tbody').textContent()) ?? '';
    assert.ok(procText.includes('Xvfb'), 'the users\' X servers are in the process list');
    await page.fill('[data-testid=processes-filter]', 'Xvfb');
    const filtered = await page.locator('[data-testid=processes-table] tbody tr').allTextContents();
    assert.ok(filtered.length >= 2 && filtered.every((r) => r.includes('Xvfb')), filtered.join('\n'));
    // Sorting by a numeric column starts with the largest; a second click flips the order.
    await page.click('[data-testid=processes-table] th[data-sort-key=pid]');
    const desc = await page.locator('[data-testid=processes-table] tbody tr td:first-child').allTextContents();
    await page.click('[data-testid=processes-table] th[data-sort-key=pid]');
    const asc = await page.locator('[data-testid=processes-table] tbody tr td:first-child').allTextContents();
    assert.deepEqual(desc.map(Number), [...desc.map(Number)].sort((a, b) => b - a));
    assert.deepEqual(asc, [...desc].reverse());
    await screenshot(page, 'backstage-processes');

    await page.click('[data-action=exit-backstage]');
    await page.waitForFunction(() => window.__gcViewer!.mode === 'screen' && window.__gcViewer!.framesPainted > 0, null, { timeout: 30_000 });
    assert.equal(await page.evaluate(() => window.__gcViewer!.socketId), socketId);
    assert.deepEqual(await page.evaluate(() => window.__gcViewer!.errors), []);
    assert.deepEqual(errors.filter((e) => !e.includes('401')), []);
    await context.close();
  });

  it('viewer role: no Enter Backstage button, and a forged backstage.enter gets FORBIDDEN', async () => {
    const vera = await stack.createUser('vera', 'viewer');
    await grantMachine(stack.url, stack.admin, vera, stack.agentId!);
    const { context, page } = await newPage(browser);
    // Our own session: other tests' displays on this machine may come and go meanwhile.
    await signIn(page, stack.url, vera, `/machines/${stack.agentId}?session=${displays.displays[0]!.display + 1}`);
    await page.waitForFunction(() => window.__gcViewer?.viewerId !== undefined && window.__gcViewer.currentSession !== undefined, null, { timeout: 60_000 });
    assert.equal(await page.locator('[data-action=enter-backstage]').isVisible(), false);
    assert.equal(await page.locator('[data-testid=view-only]').isVisible(), true);

    // Forged from the page with its own cookie on a second socket: the dashboard has no way to send it.
    const answer = await page.evaluate((agentId) => new Promise<string>((resolve, reject) => {
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
    }), stack.agentId!);
    assert.equal(answer, 'FORBIDDEN');
    assert.equal(await page.evaluate(() => window.__gcViewer!.mode), 'screen');
    assert.equal(await page.locator('[data-testid=backstage]').count(), 0);
    await screenshot(page, 'viewer-role-forbidden');
    await context.close();
  });
});
