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

/** Waits until the painted pixel at (100, 100) is pure `color`: that channel over 200, the others under 60. */
async function waitForPixel(page: Page, color: 'red' | 'green', timeout = 60_000): Promise<void> {
  // Data, not code, goes into the page: the dashboard's CSP refuses eval and new Function.
  await page.waitForFunction(
    (high) => {
      const v = window.__gcViewer;
      if (!v || v.framesPainted === 0) return false;
      const px = v.lastPixel(100, 100) as Rgba;
      return [0, 1, 2].every((i) => (i === high ? px[i]! > 200 : px[i]! < 60));
    },
    color === 'red' ? 0 : 1,
    { timeout },
  );
}

describe('live view across a nats-server restart', { timeout: 240_000 }, () => {
  const e2e = withStack({ users: ['gc-alice'], colors: ['#ff0000'] });

  it('resumes painting on the same WebSocket after NATS comes back', async () => {
    const { stack, browser, displays } = e2e;
    const alice = displays.displays[0]!;
    const { context, page } = await newPage(browser);
    await signIn(page, stack.url, stack.admin, `/machines/${stack.agentId}?session=${alice.display + 1}`);
    await waitForPixel(page, 'red');
    const socketId = await page.evaluate(() => window.__gcViewer!.socketId);

    await stack.stopNats();
    await new Promise((r) => setTimeout(r, 1500));
    await stack.startNats();
    // The desktop changes after the restart: the viewer must show it without any help.
    execFileSync('xsetroot', ['-solid', '#00ff00'], { env: { ...process.env, DISPLAY: alice.name } });
    await waitForPixel(page, 'green');

    assert.equal(await page.evaluate(() => window.__gcViewer!.socketId), socketId, 'the same WebSocket, never reconnected');
    assert.equal(await page.evaluate(() => window.__gcViewer!.connected), true);
    await screenshot(page, 'viewer-after-nats-restart');
    await context.close();
  });
});
