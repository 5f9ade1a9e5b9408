/**
 * Live-view capture on a 1920x1080 Xvfb with a small square moving all the time: what the capture
 * loop achieves at a 30 fps target (rate, CPU, bytes and tiles per frame), beside plain full-frame
 * grabs (no diff, no encode) and raw frame size measured in the same run. Then the square stops, and
 * one second later the tiles sent so far, painted in order, are compared with the screen (fidelity),
 * beside one full-frame JPEG of that screen at the same quality.
 */
import { execFileSync } from 'node:child_process';
import { startCaptureLoop, type VideoFrame } from '../../agent/frames/capture-loop.js';
import { encodeTiles, TileEncoding } from '../../agent/frames/encode.js';
import { keyframeBands } from '../../agent/frames/tiles.js';
import { fidelity } from '../support/fidelity.js';
import { paintFrames } from './paint-tiles.js';
import { openX11Desktop } from '../../agent/platform/linux/x11/desktop.js';
import { xlib } from '../../agent/platform/linux/x11/xlib.js';
import { startUserDisplays } from '../../infra/servers/x-displays.js';
import type { BenchRun } from './types.js';
import { startMovingSquare } from '../../infra/servers/moving-square.js';

const W = 1920;
const H = 1080;
const RUN_MS = 5000;
const BOX = 96;

const fmt = (n: number, digits = 1) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export const run: BenchRun = async (progress) => {
  const x = xlib();
  if (!x.ok) throw new Error(x.reason);
  const l = x.lib;
  progress('starting a 1920x1080 Xvfb');
  const { displays, stop } = await startUserDisplays(['gc-bench'], { width: W, height: H });
  const d = displays[0]!;
  const opened = await openX11Desktop({ sessionId: 1, display: d.name, uid: d.uid, user: d.user });
  if (!opened.ok) {
    await stop();
    throw new Error(opened.error.message);
  }
  const desk = opened.value;
  const dpy = l.XOpenDisplay(d.name) as bigint;
  let mover: NodeJS.Timeout | undefined;
  try {
    execFileSync('xsetroot', ['-solid', '#3a6ea5'], { env: { ...process.env, DISPLAY: d.name } });
    const root = l.XDefaultRootWindow(dpy);
    const gc = l.XCreateGC(dpy, root, 0n, null);

    // Erase-and-draw a square on a diagonal path from a second client, ~60 moves a second. It runs
    // for the baseline too: both sides pay for the in-process mover and see the same scene.
    mover = startMovingSquare(l, dpy, root, gc, { width: W, height: H, box: BOX });

    progress('baseline: back-to-back full-frame grabs for 2 s (square moving)');
    let grabs = 0;
    let rawBytes = 0;
    const gcpu0 = process.cpuUsage();
    const g0 = performance.now();
    let last: Awaited<ReturnType<typeof desk.grab>> | undefined;
    while (performance.now() - g0 < 2000) {
      // Recycling the last frame's buffer, as the capture loop does: the baseline is the cheapest grab.
      const g = await desk.grab(last?.ok ? last.value : undefined);
      last = g;
      if (!g.ok) throw new Error(g.error.message);
      rawBytes = g.value.width * g.value.height * 4;
      grabs++;
    }
    const grabRate = grabs / ((performance.now() - g0) / 1000);
    const gcpu = process.cpuUsage(gcpu0);
    const grabCpuMs = (gcpu.user + gcpu.system) / 1000 / grabs;

    progress(`capture loop at 30 fps for ${RUN_MS / 1000} s with a ${BOX}x${BOX} square moving`);
    const frames: VideoFrame[] = [];
    let firstKeyBytes = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const loop = startCaptureLoop(desk, {
      fps: 30,
      quality: 70,
      epoch: () => 1,
      onFrame: (f) => {
        if (f.keyframe && !firstKeyBytes) firstKeyBytes = f.tiles!.reduce((n, t) => n + (t.data?.length ?? 0), 0);
        frames.push(f);
      },
    });
    const ticker = setInterval(() => progress(`  ${frames.length} frames, quality ${loop.stats().quality}`), 1000);
    await new Promise((r) => setTimeout(r, RUN_MS));
    clearInterval(ticker);
    const secs = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const s = loop.stats();
    const movingFrames = frames.length;

    progress('square stopped; fidelity of what was sent, 1 s later');
    clearInterval(mover);
    mover = undefined;
    l.XFlush(dpy);
    await new Promise((r) => setTimeout(r, 1000));
    await loop.stop();
    const screen = await desk.grab();
    if (!screen.ok) throw new Error(screen.error.message);
    const painted = fidelity(screen.value, await paintFrames(W, H, frames));
    const wholeTiles = await encodeTiles(screen.value, keyframeBands(W, H), TileEncoding.TILE_JPEG, 70);
    const wholeBytes = wholeTiles.reduce((n, t) => n + (t.data?.length ?? 0), 0);
    const whole = fidelity(screen.value, await paintFrames(W, H, [{ tiles: wholeTiles }]));
    const refined = loop.stats().refined - s.refined;
    const deltas = frames.slice(0, movingFrames).filter((f) => !f.keyframe);
    const deltaBytes = deltas.reduce((n, f) => n + f.tiles!.reduce((m, t) => m + (t.data?.length ?? 0), 0), 0);
    const deltaTiles = deltas.reduce((n, f) => n + f.tiles!.length, 0);
    const cpuPct = ((cpu.user + cpu.system) / 1000 / (secs * 1000)) * 100;
    l.XFreeGC(dpy, gc);
    return [
      {
        figure: 'live view rate at 30 fps target (1080p, moving square)',
        value: `${fmt(s.frames / secs)} frames/s (${s.skippedTicks} ticks dropped, mean work ${fmt(s.meanWorkMs)} ms of which encode ${fmt(s.meanEncodeMs)} ms, end quality ${s.quality})`,
        baseline: 'full-frame raw grab rate (grab only, no diff/encode)',
        baselineValue: `${fmt(grabRate)} grabs/s`,
      },
      {
        figure: 'agent CPU over the capture run (all threads)',
        value: `${fmt(cpuPct)} % of one core`,
        baseline: 'grab-only CPU at the same frame rate, same scene (CPU per back-to-back grab x frames/s)',
        baselineValue: `${fmt(((grabCpuMs * s.frames) / secs / 1000) * 100)} % of one core (${fmt(grabCpuMs, 2)} ms CPU per grab)`,
      },
      {
        figure: 'bytes per delta frame (mean, JPEG, start q70)',
        value: `${fmt(deltas.length ? deltaBytes / deltas.length / 1024 : 0)} KiB`,
        baseline: 'one full-frame JPEG of the same screen at q70 (what sending whole frames would cost)',
        baselineValue: `${fmt(wholeBytes / 1024)} KiB`,
        note: `raw BGRA frame ${fmt(rawBytes / 1024)} KiB; first keyframe ${fmt(firstKeyBytes / 1024)} KiB; deltas include the settled tiles refined at q92`,
      },
      {
        figure: 'tiles per delta frame (mean, 64 px tiles merged up to 512 px)',
        value: fmt(deltas.length ? deltaTiles / deltas.length : 0),
        baseline: 'tiles in a full frame',
        baselineValue: `${Math.ceil(W / 64) * Math.ceil(H / 64)} (64 px); a keyframe is ${frames[0]?.tiles?.length ?? 0} full-width bands`,
      },
      {
        figure: 'fidelity 1 s after the square stopped (every tile sent, painted in order, vs the screen)',
        value: `PSNR ${fmt(painted.psnr)} dB, largest pixel difference ${painted.maxDiff}`,
        baseline: 'one full-frame JPEG of the settled screen at q70',
        baselineValue: `PSNR ${fmt(whole.psnr)} dB, largest pixel difference ${whole.maxDiff}`,
        note: `${refined} settled tiles refined at q92 after the stop (refine.ts)`,
      },
    ];
  } finally {
    if (mover) clearInterval(mover);
    desk.close();
    l.XCloseDisplay(dpy);
    await stop();
  }
};
