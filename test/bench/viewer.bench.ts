/**
 * The live view end to end: two 1920x1080 Xvfb sessions, the real stack (nats-server, PostgreSQL,
 * projections, gateway, agent) and a real headless Chromium viewer. Measures glass-to-glass latency
 * (agent capture -> browser paint, both on this machine's clock), frames painted per second and bytes
 * per frame with a small square moving, and switch latency (switch sent -> first painted frame of
 * the other session), each beside a raw NATS baseline measured in the same run.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { xlib } from '../../agent/platform/linux/x11/xlib.js';
import { connectBus } from '../../proto/bus/connect.js';
import { startStack } from '../../infra/launcher/stack.js';
import { eventually, login } from '../support/api.js';
import { launchBrowser, newPage, signIn } from '../support/browser.js';
import { startUserDisplays } from '../../infra/servers/x-displays.js';
import { fmt, latency, p50 } from './stats.js';
import type { BenchRun } from './types.js';
import { startMovingSquare } from '../../infra/servers/moving-square.js';

const W = 1920;
const H = 1080;
const BOX = 96;
const MOVE_MS = 5000;
const SWITCHES = 20;

const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

export const run: BenchRun = async (progress) => {
  const x = xlib();
  if (!x.ok) throw new Error(x.reason);
  const l = x.lib;
  progress('starting two 1920x1080 Xvfb sessions and the stack');
  const displays = await startUserDisplays(['gc-bench-a', 'gc-bench-b'], { width: W, height: H, colors: ['#3a6ea5', '#a5593a'] });
  const dir = mkdtempSync(join(tmpdir(), 'gc-bench-viewer-'));
  chmodSync(dir, 0o755);
  const agentId = 'bench-viewer-agent';
  const stack = await startStack({ dataDir: dir, port: 0, agentId, fastPostgres: true, heartbeatMs: 1000 });
  const browser = await launchBrowser();
  const [da, db] = displays.displays as [(typeof displays.displays)[0], (typeof displays.displays)[0]];
  const dpy = l.XOpenDisplay(da.name) as bigint;
  let mover: NodeJS.Timeout | undefined;
  try {
    const api = await login(stack.url, stack.admin.name, stack.admin.password);
    const [sa, sb] = await eventually(
      async () => {
        const r = await api.get<{ sessions: { id: number; station: string; capturable: boolean }[] }>(`/api/machines/${agentId}/windows-sessions`);
        const ids = [da, db].map((d) => r.body.sessions?.find((s) => s.station === d.name && s.capturable)?.id);
        return ids.every((i) => i !== undefined) ? (ids as [number, number]) : undefined;
      },
      'both sessions in the read model',
      30_000,
    );

    progress('opening the viewer in Chromium on session A');
    const { page } = await newPage(browser, { width: 1600, height: 1000 });
    await signIn(page, stack.url, stack.admin, `/machines/${agentId}?session=${sa}`);
    await page.waitForFunction((sid) => window.__gcViewer?.currentSession === sid && window.__gcViewer.framesPainted > 0, sa, { timeout: 60_000 });

    // Erase-and-draw a square on a diagonal path from a second X client, ~60 moves a second.
    const root = l.XDefaultRootWindow(dpy);
    const gc = l.XCreateGC(dpy, root, 0n, null);
    mover = startMovingSquare(l, dpy, root, gc, { width: W, height: H, box: BOX });
    progress(`glass-to-glass: ${MOVE_MS / 1000} s with a ${BOX}x${BOX} square moving on session A`);
    await new Promise((r) => setTimeout(r, 1000));
    const t0 = await page.evaluate(() => Date.now());
    await new Promise((r) => setTimeout(r, MOVE_MS));
    const moving = await page.evaluate((since) => {
      const v = window.__gcViewer!;
      return { samples: v.paint.samples.filter((s) => s.at >= since && !s.keyframe), now: Date.now(), dropped: v.paint.dropped, received: v.paint.received };
    }, t0);
    clearInterval(mover);
    mover = undefined;
    l.XFreeGC(dpy, gc);
    if (moving.samples.length < 10) throw new Error(`only ${moving.samples.length} frames painted in ${MOVE_MS} ms`);
    const glass = moving.samples.map((s) => s.latencyMs);
    const bytes = moving.samples.map((s) => s.bytes);
    const fps = moving.samples.length / ((moving.now - t0) / 1000);
    const frameBytes = Math.round(p50(bytes));
    progress(`  ${moving.samples.length} frames, ${fmt(fps)} fps, ${latency(glass)}; ${moving.dropped} dropped by the browser`);

    progress(`switches: ${SWITCHES} between the two 1080p sessions`);
    const switchMs: number[] = [];
    const ackMs: number[] = [];
    for (let i = 0; i < SWITCHES; i++) {
      const to = i % 2 === 0 ? sb : sa;
      const n = await page.evaluate((target) => {
        const v = window.__gcViewer!;
        const before = v.switchTimes.length;
        v.switchTo(target);
        return before;
      }, to);
      await page.waitForFunction((k) => window.__gcViewer!.switchTimes.length > k, n, { timeout: 30_000 });
      const t = await page.evaluate(() => window.__gcViewer!.switchTimes.at(-1)!);
      switchMs.push(t.ms);
      if (t.ackMs !== undefined) ackMs.push(t.ackMs);
      if ((i + 1) % 5 === 0) progress(`  ${i + 1}/${SWITCHES}`);
    }
    const keyBytes = await page.evaluate(() => {
      const ks = window.__gcViewer!.paint.samples.filter((s) => s.keyframe).map((s) => s.bytes);
      return ks.sort((a, b) => a - b)[Math.floor(ks.length / 2)] ?? 0;
    });

    progress(`raw NATS baselines (publish -> subscribe of ${kib(frameBytes)}, request round trip)`);
    const creds = await stack.credsFor('launcher');
    const pub = await connectBus({ servers: stack.natsUrl, name: 'bench-pub', credsFile: creds, caFile: stack.natsCa });
    const sub = await connectBus({ servers: stack.natsUrl, name: 'bench-sub', credsFile: creds, caFile: stack.natsCa });
    const transfer: number[] = [];
    let sentAt = 0;
    let got: () => void = () => {};
    sub.subscribe('bench.frame', {
      callback: () => {
        transfer.push(performance.now() - sentAt);
        got();
      },
    });
    sub.subscribe('bench.echo', {
      callback: (_e, m) => {
        m.respond(m.data);
      },
    });
    await sub.flush();
    const payload = new Uint8Array(Math.max(1, frameBytes)).map((_, i) => i & 0xff);
    for (let i = 0; i < 300; i++) {
      const arrived = new Promise<void>((r) => {
        got = r;
      });
      sentAt = performance.now();
      pub.publish('bench.frame', payload);
      await arrived;
    }
    const rtt: number[] = [];
    const small = new TextEncoder().encode('switch');
    for (let i = 0; i < 300; i++) {
      const t = performance.now();
      await pub.request('bench.echo', small, { timeout: 2000 });
      rtt.push(performance.now() - t);
    }
    await pub.close();
    await sub.close();

    const raw = W * H * 4;
    return [
      {
        figure: `glass-to-glass latency, agent capture -> Chromium paint (1080p, ${BOX}px square moving)`,
        value: latency(glass),
        baseline: `raw NATS publish -> subscribe of a same-size payload (${kib(frameBytes)})`,
        baselineValue: latency(transfer),
        note: 'includes grab, diff, JPEG encode, NATS, gateway relay, WebSocket, decode and paint',
      },
      {
        figure: 'switch latency, {t:"switch"} sent -> first painted frame of the other session (two 1080p sessions)',
        value: latency(switchMs),
        baseline: 'raw NATS request round trip',
        baselineValue: latency(rtt),
        note: `stored command through JetStream, agent switch, keyframe (median ${kib(keyBytes)}) to the browser; "switched" answer alone: ${latency(ackMs)}`,
      },
      {
        figure: 'frames painted per second (30 fps capture target, square moving)',
        value: `${fmt(fps)} fps`,
        baseline: 'capture target',
        baselineValue: '30 fps',
        note: `the browser's paint-backlog guard dropped ${moving.dropped} of the ${moving.received} frames received since the viewer opened`,
      },
      {
        figure: 'bytes per painted delta frame (median)',
        value: kib(frameBytes),
        baseline: 'a full-frame JPEG of the same screen at the same quality (the keyframes painted, median)',
        baselineValue: `${kib(keyBytes)} (${fmt(keyBytes / Math.max(1, frameBytes))}x larger)`,
        note: `raw BGRA 1920x1080 frame: ${kib(raw)}`,
      },
    ];
  } finally {
    if (mover) clearInterval(mover);
    l.XCloseDisplay(dpy);
    await browser.close().catch(() => {});
    await stack.stop();
    await displays.stop();
    rmSync(dir, { recursive: true, force: true });
  }
};
