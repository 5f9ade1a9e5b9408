/**
 * Machines page and viewer in real Chromium against the whole stack: two X displays owned by two
 * users (red and blue) stand for two Windows sessions; the technician sees both, watches one and
 * switches to the other on the same WebSocket.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withStack } from '../support/e2e-stack.js';
import { collectPageErrors, newPage, screenshot, signIn } from '../support/browser.js';
import type { UserDisplay } from '../../infra/servers/x-displays.js';

interface SessionDto {
  id: number;
  user: string;
  station: string;
  capturable: boolean;
}

describe('dashboard: machines and viewer (real Chromium, whole stack)', () => {
  const e2e = withStack({ users: ['gc-alice', 'gc-bob'], colors: ['#ff0000', '#0000ff'] });

  it('lists this machine online with its session count and both logged-on users', async () => {
    const { stack, browser } = e2e;
    const [alice, bob] = e2e.displays.displays as [UserDisplay, UserDisplay];
    const { context, page } = await newPage(browser);
    const errors = collectPageErrors(page);
    await signIn(page, stack.url, stack.admin);
    const row = page.locator(`tr[data-agent-id="${stack.agentId}"]`);
    // Both users appear once the agent's session report has been projected (pushed via /ws/live).
    await page.waitForFunction(
      (id) => {
        const users = document.querySelector(`tr[data-agent-id="${id}"] [data-testid=users]`)?.textContent ?? '';
        return users.includes('gc-alice') && users.includes('gc-bob');
      },
      stack.agentId,
      { timeout: 30_000 },
    );
    assert.equal(await row.locator('[data-testid=status]').textContent(), 'Online');
    const sessions = await page.evaluate(async (id) => (await (await fetch(`/api/machines/${id}/windows-sessions`)).json()).sessions as SessionDto[], stack.agentId!);
    const ours = sessions.filter((s) => s.station === alice.name || s.station === bob.name);
    assert.deepEqual(ours.map((s) => s.user).sort(), ['gc-alice', 'gc-bob']);
    // Exactly "Sessions (2)" on a clean machine; other X servers on this box (stale sockets of
    // other runs) are real sessions too, so the count is compared with what the API lists.
    assert.ok(sessions.length >= 2);
    assert.match((await row.locator('[data-action=sessions]').textContent()) ?? '', /^Sessions \((\d+)\)$/);
    const shown = Number(/\((\d+)\)/.exec((await row.locator('[data-action=sessions]').textContent()) ?? '')?.[1]);
    assert.ok(shown >= 2, `the count covers at least our two sessions (${shown})`);
    // One user per line of the tooltip; other test files' users may be logged on too.
    const titleUsers = ((await row.locator('[data-testid=users]').getAttribute('title')) ?? '').split('\n');
    assert.ok(titleUsers.includes('gc-alice') && titleUsers.includes('gc-bob'), titleUsers.join(', '));
    await row.click();
    const detail = (await page.locator('[data-testid=detail-users]').textContent()) ?? '';
    assert.ok(detail.includes('gc-alice') && detail.includes('gc-bob'), detail);

    await row.locator('[data-action=sessions]').click();
    const modalRows = page.locator('[data-testid=sessions-table] tbody tr');
    await modalRows.first().waitFor();
    // Our two sessions are listed; other tests' displays may come and go while this one runs.
    for (const s of ours) await page.locator(`[data-testid=sessions-table] tr[data-session-id="${s.id}"]`).waitFor();
    assert.ok((await modalRows.count()) >= 2);
    for (const s of ours)
      assert.equal(await page.locator(`[data-testid=sessions-table] tr[data-session-id="${s.id}"] [data-action=view-session]`).isVisible(), true, `session ${s.id} has a View button`);
    await screenshot(page, 'machines-sessions-modal');
    assert.deepEqual(
      errors.filter((e) => !e.includes('401')),
      [],
    );
    await context.close();
  });

  it('paints display A (red), switches to B (blue) on the same WebSocket', async () => {
    const { stack, browser } = e2e;
    const [alice, bob] = e2e.displays.displays as [UserDisplay, UserDisplay];
    const { context, page } = await newPage(browser);
    const errors = collectPageErrors(page);
    const viewerSockets: string[] = [];
    page.on('websocket', (ws) => ws.url().includes('/ws/viewer/') && viewerSockets.push(ws.url()));
    await signIn(page, stack.url, stack.admin);
    const sessions = await page.evaluate(async (id) => (await (await fetch(`/api/machines/${id}/windows-sessions`)).json()).sessions as SessionDto[], stack.agentId!);
    const a = sessions.find((s) => s.station === alice.name && s.capturable);
    const b = sessions.find((s) => s.station === bob.name && s.capturable);
    assert.ok(a && b, `both displays are capturable sessions: ${JSON.stringify(sessions)}`);

    await page.goto(`${stack.url}/machines/${stack.agentId}?session=${a.id}`);
    await page.waitForFunction((sid) => window.__gcViewer?.currentSession === sid && window.__gcViewer.framesPainted > 0, a.id, { timeout: 30_000 });
    const red = await page.evaluate(() => window.__gcViewer!.lastPixel(100, 100));
    assert.ok(red[0] > 200 && red[1] < 60 && red[2] < 60, `display A is red, got ${red}`);
    assert.deepEqual(await page.evaluate(() => window.__gcViewer!.canvasSize), { width: 1024, height: 768 });
    const before = await page.evaluate(() => ({ socketId: window.__gcViewer!.socketId, viewerId: window.__gcViewer!.viewerId, frames: window.__gcViewer!.framesPainted }));

    await page.selectOption('[data-testid=session-select]', String(b.id));
    await page.waitForFunction(
      (sid) => {
        const v = window.__gcViewer!;
        if (v.currentSession !== sid) return false;
        const [r, , bl] = v.lastPixel(100, 100);
        return bl > 200 && r < 60;
      },
      b.id,
      { timeout: 30_000 },
    );
    const afterSwitch = await page.evaluate(() => ({
      socketId: window.__gcViewer!.socketId,
      viewerId: window.__gcViewer!.viewerId,
      frames: window.__gcViewer!.framesPainted,
      connected: window.__gcViewer!.connected,
    }));
    // Same browser socket and same server-side viewer: the switch did not reconnect.
    assert.equal(afterSwitch.socketId, before.socketId);
    assert.equal(afterSwitch.viewerId, before.viewerId);
    assert.equal(afterSwitch.connected, true);
    assert.ok(afterSwitch.frames > before.frames);
    assert.equal(viewerSockets.length, 1);
    assert.match((await page.locator('[data-testid=current-session]').textContent()) ?? '', new RegExp(`#${b.id} · gc-bob`));
    assert.equal(await page.locator('[data-testid=session-select]').inputValue(), String(b.id));
    await page.waitForTimeout(300);
    await screenshot(page, 'viewer-after-switch');
    assert.deepEqual(await page.evaluate(() => window.__gcViewer!.errors), []);
    assert.deepEqual(
      errors.filter((e) => !e.includes('401')),
      [],
    );
    await context.close();
  });
});
