/**
 * The viewer behind a slow link (test/support/slow-link.ts): Chromium runs in a network namespace
 * whose only way to the gateway is a 5 Mbit/s, 40 ms-each-way link. Functional properties only (the
 * timings are bench figures, viewer-slow-link.bench.ts): the page cannot reach the gateway on
 * loopback, the viewer still paints and switches on one socket, the frames it painted crossed the
 * link, a full screen changing every frame makes the gateway ask the agent for a slower, smaller
 * stream while the page keeps painting, a namespace left by a killed run is cleared, and the
 * namespace and its devices are gone once the link is stopped.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { type Stack, startStack } from '../../infra/launcher/stack.js';
import { startUserDisplays, type UserDisplay } from '../../infra/servers/x-displays.js';
import { connectBus } from '../../proto/bus/connect.js';
import { decode } from '../../proto/codec.js';
import type { AgentId } from '../../proto/ids.js';
import { subjects } from '../../proto/subjects.js';
import { eventually } from '../support/api.js';
import { chromiumPath, collectPageErrors, launchBrowser, newPage, screenshot, signIn } from '../support/browser.js';
import { startScene } from '../support/x-scenes.js';
import { removeStaleLinks, type SlowLink, startSlowLink } from '../support/slow-link.js';

interface SessionDto {
  id: number;
  station: string;
  capturable: boolean;
}

/** Bytes this host sent into the link (TX of its end of the link). */
function linkTxBytes(dev: string): number {
  const out = execFileSync('ip', ['-s', '-j', 'link', 'show', 'dev', dev], { encoding: 'utf8' });
  return (JSON.parse(out) as { stats64: { tx: { bytes: number } } }[])[0]!.stats64.tx.bytes;
}

/** GET `url` from a Node started inside the namespace: the status, or "unreachable". */
function probeFromNamespace(netns: string, url: string): string {
  const script = "fetch(process.argv[1], { signal: AbortSignal.timeout(5000) }).then((r) => console.log(r.status), () => console.log('unreachable'))";
  return execFileSync('ip', ['netns', 'exec', netns, process.execPath, '-e', script, url], { encoding: 'utf8' }).trim();
}

const netnsList = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
const deviceExists = (dev: string) => {
  try {
    execFileSync('ip', ['link', 'show', 'dev', dev], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

describe('viewer behind a 5 Mbit/s, 80 ms link (Chromium in a network namespace)', () => {
  let displays: Awaited<ReturnType<typeof startUserDisplays>> | undefined;
  let link: SlowLink | undefined;
  let stack: Stack | undefined;
  let browser: Browser | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'gc-e2e-slow-'));
  let pageUrl = '';

  before(async () => {
    displays = await startUserDisplays(['gc-alice', 'gc-bob'], { colors: ['#ff0000', '#0000ff'] });
    link = await startSlowLink({ mbit: 5, delayMs: 40 });
    // The link's address is this host's too: the gateway listens on every address for this test.
    stack = await startStack({ dataDir, fastPostgres: true, heartbeatMs: 1000, env: { GC_HOST: '0.0.0.0' } });
    pageUrl = stack.url.replace('127.0.0.1', link.hostAddress);
    browser = await launchBrowser({ executablePath: link.wrap(chromiumPath), args: [`--unsafely-treat-insecure-origin-as-secure=${pageUrl}`] });
  });
  after(async () => {
    await browser?.close().catch(() => {});
    await stack?.stop();
    await link?.stop();
    await displays?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('the link is shaped by tbf at 5 Mbit/s on both ends', () => {
    const host = execFileSync('tc', ['qdisc', 'show', 'dev', link!.devices.host], { encoding: 'utf8' });
    const peer = execFileSync('tc', ['-n', link!.netns, 'qdisc', 'show', 'dev', link!.devices.peer], { encoding: 'utf8' });
    for (const q of [host, peer]) assert.match(q, /tbf .*rate 5Mbit/);
  });

  it('paints display A through the link, switches to B on the same socket, and cannot reach the gateway on loopback', async () => {
    const [alice, bob] = displays!.displays as [UserDisplay, UserDisplay];
    const { context, page } = await newPage(browser!);
    const errors = collectPageErrors(page);
    const sockets: string[] = [];
    page.on('websocket', (ws) => ws.url().includes('/ws/viewer/') && sockets.push(ws.url()));
    const tx0 = linkTxBytes(link!.devices.host);
    await signIn(page, pageUrl, stack!.admin);
    // Inside the namespace loopback has no gateway: the only way to it is the link.
    const port = new URL(stack!.url).port;
    assert.equal(probeFromNamespace(link!.netns, `http://127.0.0.1:${port}/api/health`), 'unreachable');
    assert.equal(probeFromNamespace(link!.netns, `http://${link!.hostAddress}:${port}/api/health`), '200');
    assert.equal(await page.evaluate(() => location.hostname), link!.hostAddress);

    const sessions = await page.evaluate(async (id) => (await (await fetch(`/api/machines/${id}/windows-sessions`)).json()).sessions as SessionDto[], stack!.agentId!);
    const a = sessions.find((s) => s.station === alice.name && s.capturable);
    const b = sessions.find((s) => s.station === bob.name && s.capturable);
    assert.ok(a && b, `both displays are capturable sessions: ${JSON.stringify(sessions)}`);
    await page.goto(`${pageUrl}/machines/${stack!.agentId}?session=${a.id}`);
    await page.waitForFunction((sid) => window.__gcViewer?.currentSession === sid && window.__gcViewer.framesPainted > 0, a.id, { timeout: 60_000 });
    const red = await page.evaluate(() => window.__gcViewer!.lastPixel(100, 100));
    assert.ok(red[0] > 200 && red[1] < 60 && red[2] < 60, `display A is red, got ${red}`);
    const before = await page.evaluate(() => ({ socketId: window.__gcViewer!.socketId, frames: window.__gcViewer!.framesPainted }));

    await page.selectOption('[data-testid=session-select]', String(b.id));
    await page.waitForFunction(
      (sid) => {
        const v = window.__gcViewer!;
        if (v.currentSession !== sid) return false;
        const [r, , bl] = v.lastPixel(100, 100);
        return bl > 200 && r < 60;
      },
      b.id,
      { timeout: 60_000 },
    );
    const afterSwitch = await page.evaluate(() => ({ socketId: window.__gcViewer!.socketId, frames: window.__gcViewer!.framesPainted, received: window.__gcViewer!.paint.receivedBytes }));
    assert.equal(afterSwitch.socketId, before.socketId);
    assert.ok(afterSwitch.frames > before.frames);
    assert.equal(sockets.length, 1);
    assert.ok(sockets[0]!.includes(link!.hostAddress), sockets[0]);
    // Every frame byte the page received was sent into the link by this host.
    const tx = linkTxBytes(link!.devices.host) - tx0;
    assert.ok(tx >= afterSwitch.received, `link carried ${tx} bytes, the page received ${afterSwitch.received} frame bytes`);
    await screenshot(page, 'viewer-slow-link');
    assert.deepEqual(await page.evaluate(() => window.__gcViewer!.errors), []);
    assert.deepEqual(
      errors.filter((e) => !e.includes('401')),
      [],
    );
    await context.close();
  });

  it('a full screen changing every frame through the link: the gateway asks the agent for a slower, smaller stream, and the page keeps painting', async () => {
    const [alice] = displays!.displays as [UserDisplay, UserDisplay];
    const agentId = stack!.agentId! as AgentId;
    const bus = await connectBus({ servers: stack!.natsUrl, name: 'e2e-slow-link', credsFile: await stack!.credsFor('launcher'), caFile: stack!.natsCa });
    // The pace the gateway asks for is in the stream commands it sends (an agent's own quality
    // governor lowers quality under load too; only these say the gateway paced the viewer).
    const paces: { fps: number; quality: number }[] = [];
    const sub = bus.subscribe(subjects.command(agentId, 'stream'), {
      callback: (e, m) => {
        if (e) return;
        const r = decode(m.data, m.subject);
        const s = r.ok ? r.value.startStream : undefined;
        if (s) paces.push({ fps: s.maxFps ?? 0, quality: s.quality ?? 0 });
      },
    });
    const scene = await startScene('video', alice.name, { width: 1024, height: 768 });
    const { context, page } = await newPage(browser!);
    try {
      await signIn(page, pageUrl, stack!.admin);
      const sessions = await page.evaluate(async (id) => (await (await fetch(`/api/machines/${id}/windows-sessions`)).json()).sessions as SessionDto[], agentId);
      const a = sessions.find((x) => x.station === alice.name && x.capturable);
      assert.ok(a, JSON.stringify(sessions));
      await page.goto(`${pageUrl}/machines/${agentId}?session=${a.id}`);
      await page.waitForFunction((sid) => window.__gcViewer?.currentSession === sid && window.__gcViewer.framesPainted > 0, a.id, { timeout: 60_000 });
      // Some 3 MB/s of frames at the agent's ceiling (30 fps, quality 70) against 0.6 MB/s of link.
      const slowed = await eventually(async () => paces.find((p) => p.fps < 30 || p.quality < 70), 'a stream command with a pace under the ceiling', 60_000);
      assert.ok(slowed.fps >= 1 && slowed.quality >= 1, JSON.stringify(slowed));
      const painted = await page.evaluate(() => window.__gcViewer!.framesPainted);
      await page.waitForFunction((n) => window.__gcViewer!.framesPainted > n + 5, painted, { timeout: 60_000 });
      assert.deepEqual(await page.evaluate(() => window.__gcViewer!.errors), []);
    } finally {
      scene.stop();
      sub.unsubscribe();
      await bus.close();
      await context.close();
    }
  });

  it('a namespace left by a killed run (no live process can own it) is removed at the next start; a live link is not', () => {
    // A pid remainder no live process has: the name a SIGKILLed run leaves behind.
    let tag = 99_999;
    const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim());
    const taken = (t: number) => Array.from({ length: Math.floor(pidMax / 100_000) + 1 }, (_, k) => t + k * 100_000).some((p) => existsSync(`/proc/${p}`));
    while (taken(tag)) tag--;
    const stale = `gc-slow-${tag}`;
    execFileSync('ip', ['netns', 'add', stale]);
    try {
      assert.ok(netnsList().includes(stale));
      const removed = removeStaleLinks();
      assert.ok(removed.includes(stale), `removed ${removed.join(', ')}`);
      assert.ok(!netnsList().includes(stale), netnsList());
      assert.ok(!removed.includes(link!.netns));
      assert.ok(netnsList().includes(link!.netns), 'the running link (this process owns it) stays');
    } finally {
      if (netnsList().includes(stale)) execFileSync('ip', ['netns', 'del', stale]);
    }
  });

  it('stopping the link removes the namespace and both devices', async () => {
    await browser?.close();
    browser = undefined;
    const { netns, devices } = link!;
    assert.ok(netnsList().includes(netns));
    assert.ok(deviceExists(devices.host));
    await link!.stop();
    link = undefined;
    assert.ok(!netnsList().includes(netns), netnsList());
    assert.equal(deviceExists(devices.host), false);
  });
});
