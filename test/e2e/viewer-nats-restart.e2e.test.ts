/**
 * The live view survives a nats-server restart: the browser keeps its WebSocket (no reload, no
 * reconnect), the agent and gateway reconnect by themselves, and the viewer shows what changes on
 * the desktop after the restart.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { withStack } from '../support/e2e-stack.js';
import { newPage, screenshot, signIn } from '../support/browser.js';

type Rgba = [number, number, number, number];

async function waitForPixel(page: Page, ok: string, timeout = 60_000): Promise<void> {
  // `ok` is the body of a predicate over r, g, b (kept as text: it runs inside the page).
  await page.waitForFunction((body) => {
    const v = window.__gcViewer;
    if (!v || v.framesPainted === 0) return false;
    const [r, g, b] = v.lastPixel(100, 100) as Rgba;
    return new Function('r', 'g', 'b', `return ${body}`)(r, g, b) as boolean;
  }, ok, { timeout });
}

describe('live view across a nats-server restart', { timeout: 240_000 }, () => {
  const e2e = withStack({ users: ['gc-alice'], colors: ['#ff0000'] });

  it('resumes painting on the same WebSocket after NATS comes back', async () => {
    const { stack, browser, displays } = e2e;
    const alice = displays.displays[0]!;
    const { context, page } = await newPage(browser);
    await signIn(page, stack.url, stack.admin, `/machines/${stack.agentId}?session=${alice.display + 1}`);
    await waitForPixel(page, 'r > 200 && g < 60 && b < 60');
    const socketId = await page.evaluate(() => window.__gcViewer!.socketId);

    await stack.stopNats();
    await new Promise((r) => setTimeout(r, 1500));
    await stack.startNats();
    // The desktop changes after the restart: the viewer must show it without any help.
    execFileSync('xsetroot', ['-solid', '#00ff00'], { env: { ...process.env, DISPLAY: alice.name } });
    await waitForPixel(page, 'g > 200 && r < 60 && b < 60');

    assert.equal(await page.evaluate(() => window.__gcViewer!.socketId), socketId, 'the same WebSocket, never reconnected');
    assert.equal(await page.evaluate(() => window.__gcViewer!.connected), true);
    await screenshot(page, 'viewer-after-nats-restart');
    await context.close();
  });
});
