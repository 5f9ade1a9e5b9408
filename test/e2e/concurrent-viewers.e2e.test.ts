/**
 * Several technicians on one machine at once, in real Chromium against the whole stack: an admin and
 * an operator watch the two X sessions (red, blue) side by side; the admin switches to blue and back
 * while the operator's view never leaves blue and keeps receiving frames; a view-only technician
 * watching a session gets frames too (first on a shared capture, then after changing session).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { Stack } from '../../infra/launcher/stack.js';
import { withStack } from '../support/e2e-stack.js';
import { collectPageErrors, grantMachine, newPage, screenshot, signIn } from '../support/browser.js';
import type { UserDisplay } from '../../infra/servers/x-displays.js';

interface SessionDto {
  id: number;
  user: string;
  station: string;
  capturable: boolean;
}
type Rgba = [number, number, number, number];

const isRed = ([r, g, b]: Rgba) => r > 200 && g < 60 && b < 60;
const isBlue = ([r, g, b]: Rgba) => b > 190 && r < 60 && g < 60;

/** The stack's data directory (its service logs are printed when a wait fails). */
let dataDir: string;

/** Waits until the page watches `sid` with at least one painted frame whose pixel passes `colour`. */
async function waitShowing(page: Page, sid: number, colour: 'red' | 'blue', timeout = 60_000): Promise<void> {
  try {
    await page.waitForFunction(
      ([s, c]) => {
        const v = window.__gcViewer;
        if (!v || v.currentSession !== s || v.framesPainted === 0) return false;
        const [r, g, b] = v.lastPixel(100, 100);
        return c === 'red' ? r > 200 && g < 60 && b < 60 : b > 190 && r < 60 && g < 60;
      },
      [sid, colour] as const,
      { timeout },
    );
  } catch (e) {
    // Say what the page and the services saw, so a failure in CI can be understood from its log.
    const state = await page
      .evaluate(() => {
        const v = window.__gcViewer;
        return v ? { current: v.currentSession, frames: v.framesPainted, connected: v.connected, errors: v.errors, pixel: v.lastPixel(100, 100) } : 'no viewer';
      })
      .catch((x: Error) => x.message);
    console.log(`waitShowing(${sid}, ${colour}) failed; viewer: ${JSON.stringify(state)}`);
    for (const f of ['agent.log', 'gateway.log']) {
      const text = existsSync(join(dataDir, 'logs', f)) ? readFileSync(join(dataDir, 'logs', f), 'utf8') : '(missing)';
      console.log(`--- last lines of ${f}:\n${text.split('\n').slice(-25).join('\n')}`);
    }
    throw e;
  }
}

describe('dashboard: concurrent viewers on different sessions of one machine', { timeout: 240_000 }, () => {
  const e2e = withStack({ users: ['gc-alice', 'gc-bob'], colors: ['#ff0000', '#0000ff'] });
  let stack: Stack;
  let browser: Browser;
  let bob: UserDisplay;
  let a: SessionDto;
  let b: SessionDto;

  // After withStack's start: both displays must be capturable sessions in the read model.
  before(async () => {
    ({ stack, browser, dataDir } = e2e);
    const [alice, bobDisplay] = e2e.displays.displays as [UserDisplay, UserDisplay];
    bob = bobDisplay;
    const r = await fetch(`${stack.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(stack.admin) });
    const { token } = (await r.json()) as { token: string };
    for (let i = 0; i < 100; i++) {
      const s = await fetch(`${stack.url}/api/machines/${stack.agentId}/windows-sessions`, { headers: { authorization: `Bearer ${token}` } });
      const list = s.ok ? ((await s.json()) as { sessions: SessionDto[] }).sessions : [];
      const sa = list.find((x) => x.station === alice.name && x.capturable);
      const sb = list.find((x) => x.station === bob.name && x.capturable);
      if (sa && sb) {
        [a, b] = [sa, sb];
        break;
      }
      await new Promise((res) => setTimeout(res, 200));
    }
    assert.ok(a && b, 'both displays are capturable sessions in the read model');
  });

  it('two technicians see their own sessions; one switching away and back never disturbs the other', async () => {
    const oscar = await stack.createUser('oscar', 'operator');
    await grantMachine(stack.url, stack.admin, oscar, stack.agentId!);
    const v1 = await newPage(browser, { width: 1200, height: 800 });
    const v2 = await newPage(browser, { width: 1200, height: 800 });
    const errors1 = collectPageErrors(v1.page);
    const errors2 = collectPageErrors(v2.page);
    await Promise.all([signIn(v1.page, stack.url, stack.admin, `/machines/${stack.agentId}?session=${a.id}`), signIn(v2.page, stack.url, oscar, `/machines/${stack.agentId}?session=${b.id}`)]);
    await Promise.all([waitShowing(v1.page, a.id, 'red'), waitShowing(v2.page, b.id, 'blue')]);
    assert.equal(await v2.page.locator('[data-testid=view-only]').isVisible(), false, 'an operator controls');

    // Viewer 2 records what it shows every 50 ms while viewer 1 moves around.
    await v2.page.evaluate(() => {
      const w = window as unknown as { __samples: { px: number[]; cur: number | undefined; frames: number }[]; __sampler: number };
      w.__samples = [];
      w.__sampler = window.setInterval(() => {
        const v = window.__gcViewer!;
        w.__samples.push({ px: v.lastPixel(100, 100), cur: v.currentSession, frames: v.framesPainted });
      }, 50);
    });
    // Bob's desktop keeps changing (two blues) so viewer 2 has frames to lose if its capture moved.
    let shade = 0;
    const animate = setInterval(() => {
      shade ^= 1;
      execFile('xsetroot', ['-solid', shade ? '#0000d8' : '#0000ff'], { env: { ...process.env, DISPLAY: bob.name } }, () => {});
    }, 150);
    try {
      await v1.page.selectOption('[data-testid=session-select]', String(b.id));
      await waitShowing(v1.page, b.id, 'blue');
      await screenshot(v1.page, 'concurrent-v1-on-b');
      await v1.page.selectOption('[data-testid=session-select]', String(a.id));
      await waitShowing(v1.page, a.id, 'red');
      // After viewer 1 left B, B's capture still runs for viewer 2: its frames keep coming.
      const framesWhenBack = await v2.page.evaluate(() => window.__gcViewer!.framesPainted);
      await v2.page.waitForFunction((n) => window.__gcViewer!.framesPainted >= n + 3, framesWhenBack, { timeout: 20_000 });
    } finally {
      clearInterval(animate);
    }
    const samples = await v2.page.evaluate(() => {
      const w = window as unknown as { __samples: { px: Rgba; cur: number | undefined; frames: number }[]; __sampler: number };
      clearInterval(w.__sampler);
      return w.__samples;
    });
    // Sampled every 50 ms while viewer 1 switched away and back (a fast switch pair takes ~0.5 s here).
    assert.ok(samples.length >= 5, `viewer 2 was sampled (${samples.length})`);
    const off = samples.filter((s) => s.cur !== b.id || !isBlue(s.px));
    assert.deepEqual(off.slice(0, 5), [], `viewer 2 always showed session ${b.id} in blue`);
    assert.ok(samples.at(-1)!.frames > samples[0]!.frames, 'viewer 2 painted frames during the switches');
    assert.equal(await v2.page.evaluate(() => window.__gcViewer!.currentSession), b.id);
    assert.equal(await v2.page.locator('[data-testid=session-select]').inputValue(), String(b.id));

    const switches = await v1.page.evaluate(() => window.__gcViewer!.switchTimes);
    assert.deepEqual(
      switches.map((s) => s.to),
      [b.id, a.id],
    );
    console.log(`switch -> first painted frame: ${switches.map((s) => `${s.ms} ms`).join(', ')}`);
    assert.ok(isRed(await v1.page.evaluate(() => window.__gcViewer!.lastPixel(100, 100))));
    await screenshot(v2.page, 'concurrent-v2-kept-b');
    assert.deepEqual(await v1.page.evaluate(() => window.__gcViewer!.errors), []);
    assert.deepEqual(await v2.page.evaluate(() => window.__gcViewer!.errors), []);
    assert.deepEqual(
      [...errors1, ...errors2].filter((e) => !e.includes('401')),
      [],
    );
    await v1.context.close();
    await v2.context.close();
  });

  it('a view-only technician receives frames on a shared capture and after changing session', async () => {
    const admin = await newPage(browser, { width: 1000, height: 700 });
    await signIn(admin.page, stack.url, stack.admin, `/machines/${stack.agentId}?session=${a.id}`);
    await waitShowing(admin.page, a.id, 'red');

    const vera = await stack.createUser('vera', 'viewer');
    await grantMachine(stack.url, stack.admin, vera, stack.agentId!);
    const v = await newPage(browser, { width: 1000, height: 700 });
    const errors = collectPageErrors(v.page);
    const started = Date.now();
    await signIn(v.page, stack.url, vera, `/machines/${stack.agentId}?session=${a.id}`);
    // Session A is already captured for the admin: the view-only viewer joins that capture.
    await waitShowing(v.page, a.id, 'red');
    const firstFrame = await v.page.evaluate(() => ({ at: window.__gcViewer!.paint.samples[0]!.at, watchingAt: window.__gcViewer!.watchingAt, nudges: window.__gcViewer!.keyframeNudges }));
    console.log(
      `view-only viewer: first frame ${Date.now() - started} ms after sign-in started, ${firstFrame.at - (firstFrame.watchingAt ?? 0)} ms after "watching", keyframe nudges ${firstFrame.nudges}`,
    );
    assert.equal(await v.page.locator('[data-testid=view-only]').isVisible(), true);
    const rec = await v.page.evaluate(() => window.__gcViewer!.paint.samples[0]!);
    assert.equal(rec.sessionId, a.id);
    assert.equal(rec.keyframe, true, 'the first painted frame is a keyframe');
    assert.ok(rec.bytes > 0);

    // Watching another session (a new watch, not a switch: view-only may not move the capture).
    await v.page.selectOption('[data-testid=session-select]', String(b.id));
    await waitShowing(v.page, b.id, 'blue', 20_000);
    assert.deepEqual(
      (await v.page.evaluate(() => window.__gcViewer!.switchTimes)).map((s) => s.to),
      [b.id],
    );
    // The admin is still on A.
    assert.ok(isRed(await admin.page.evaluate(() => window.__gcViewer!.lastPixel(100, 100))));
    assert.equal(await admin.page.evaluate(() => window.__gcViewer!.currentSession), a.id);
    await screenshot(v.page, 'concurrent-view-only');
    assert.deepEqual(await v.page.evaluate(() => window.__gcViewer!.errors), []);
    assert.deepEqual(
      errors.filter((e) => !e.includes('401')),
      [],
    );
    await v.context.close();
    await admin.context.close();
  });
});
