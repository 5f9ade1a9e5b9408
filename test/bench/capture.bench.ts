/**
 * Live-view capture on a 1920x1080 Xvfb, one scene after another (test/support/x-scenes.ts): a small
 * square moving (the best case of tile diffing), a full screen of log text scrolling one line per tick,
 * and a grainy texture panning so every pixel changes every tick (the video-like worst case). For each:
 * what the capture loop achieves at a 30 fps target (rate, CPU, bytes per second, end quality) beside
 * the limit of the plain approach on this machine in the same run: grabbing and JPEG-encoding whole
 * frames at the same quality back to back. For the square, also the fidelity of what was sent once it
 * stops (every tile painted in order, against the screen), beside one full-frame JPEG of that screen.
 */
import { startCaptureLoop, type VideoFrame } from '../../agent/frames/capture-loop.js';
import { encodeTiles, TileEncoding } from '../../agent/frames/encode.js';
import { keyframeBands } from '../../agent/frames/tiles.js';
import { openX11Desktop } from '../../agent/platform/linux/x11/desktop.js';
import type { SessionDesktop } from '../../agent/platform/port.js';
import { startUserDisplays } from '../../infra/servers/x-displays.js';
import { fidelity } from '../support/fidelity.js';
import { SCENES, type SceneName, startScene } from '../support/x-scenes.js';
import { paintFrames } from './paint-tiles.js';
import type { BenchRow, BenchRun } from './types.js';
import { frameRateMet } from './stats.js';
import { wholeFrames } from './whole-frames.js';

const W = 1920;
const H = 1080;
const RUN_MS = 5000;
const BASELINE_MS = 2000;
const QUALITY = 70;
const TARGET_FPS = 30;

const fmt = (n: number, digits = 1) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

const LABEL: Record<SceneName, string> = {
  square: '96 px square moving',
  text: 'full screen of text scrolling',
  video: 'full screen changing every frame',
};

export const run: BenchRun = async (progress) => {
  progress('starting a 1920x1080 Xvfb');
  const { displays, stop } = await startUserDisplays(['gc-bench'], { width: W, height: H, colors: ['#3a6ea5'] });
  const d = displays[0]!;
  const opened = await openX11Desktop({ sessionId: 1, display: d.name, uid: d.uid, user: d.user });
  if (!opened.ok) {
    await stop();
    throw new Error(opened.error.message);
  }
  const desk = opened.value;
  const rows: BenchRow[] = [];
  try {
    for (const name of SCENES) {
      progress(`scene "${name}": drawing it`);
      const scene = await startScene(name, d.name, { width: W, height: H });
      try {
        // The scene keeps changing during the baseline too: both sides see the same screen.
        progress(`  baseline: whole frames grabbed and JPEG-encoded at q${QUALITY} back to back for ${BASELINE_MS / 1000} s`);
        const whole = await wholeFrames(desk, BASELINE_MS, QUALITY);
        progress(`  ${fmt(whole.fps)} frames/s, ${fmt(whole.bytesPerFrame / 1024)} KiB a frame, grab ${fmt(whole.grabMs)} ms`);

        progress(`  capture loop at ${TARGET_FPS} fps for ${RUN_MS / 1000} s`);
        const frames: VideoFrame[] = [];
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        const loop = startCaptureLoop(desk, { fps: TARGET_FPS, quality: QUALITY, epoch: () => 1, onFrame: (f) => frames.push(f) });
        const ticker = setInterval(() => progress(`    ${frames.length} frames, quality ${loop.stats().quality}`), 1000);
        await new Promise((r) => setTimeout(r, RUN_MS));
        clearInterval(ticker);
        const secs = (performance.now() - t0) / 1000;
        const cpuPct = (cpuMs(process.cpuUsage(cpu0)) / (secs * 1000)) * 100;
        const s = loop.stats();
        const fps = s.frames / secs;
        const bytesPerSec = s.bytes / secs;
        const wholeCpuPct = ((whole.cpuMsPerFrame * fps) / 1000) * 100;
        const label = LABEL[name];
        rows.push(
          {
            figure: `live view rate at ${TARGET_FPS} fps target (1080p, ${label})`,
            value: `${fmt(fps)} frames/s (${s.skippedTicks} ticks dropped, ${s.scrolls} began with scroll copies, mean work ${fmt(s.meanWorkMs)} ms of which encode ${fmt(s.meanEncodeMs)} ms, end quality ${s.quality})`,
            baseline: `whole frames grabbed and JPEG-encoded at q${QUALITY} back to back (the plain approach's limit here)`,
            baselineValue: `${fmt(whole.fps)} frames/s (grab ${fmt(whole.grabMs)} ms)`,
            ...(name === 'text' ? { note: `goal ≥ ${TARGET_FPS} fps: ${frameRateMet(fps, secs, TARGET_FPS) ? 'met' : 'missed'}` } : {}),
            measured: {
              value: round(fps),
              unit: 'frames/s',
              baselineValue: round(whole.fps),
              ...(name === 'text' ? { goal: `≥ ${TARGET_FPS} frames/s`, met: frameRateMet(fps, secs, TARGET_FPS) } : {}),
            },
          },
          {
            figure: `agent CPU over the capture run (all threads, ${label})`,
            value: `${fmt(cpuPct)} % of one core`,
            baseline: 'whole-frame grab + JPEG at the same frame rate (CPU per whole frame x frames/s)',
            baselineValue: `${fmt(wholeCpuPct)} % of one core (${fmt(whole.cpuMsPerFrame, 2)} ms CPU a frame)`,
            measured: { value: round(cpuPct), unit: '% of one core', baselineValue: round(wholeCpuPct) },
          },
          {
            figure: `bytes per second sent (${label}, JPEG from q${QUALITY})`,
            value: `${fmt(bytesPerSec / 1024)} KiB/s (${fmt(s.frames ? s.bytes / s.frames / 1024 : 0)} KiB a frame)`,
            baseline: `whole frames at q${QUALITY} at the same frame rate`,
            baselineValue: `${fmt((whole.bytesPerFrame * fps) / 1024)} KiB/s (${fmt(whole.bytesPerFrame / 1024)} KiB a frame)`,
            measured: { value: round(bytesPerSec / 1024), unit: 'KiB/s', baselineValue: round((whole.bytesPerFrame * fps) / 1024) },
          },
        );
        if (name === 'square') rows.push(...(await squareDetail(desk, scene, loop, frames, s.refined)));
        else if (name === 'text') rows.push(await settledFidelity(desk, scene, loop, frames, s.scrolls, label));
        else await loop.stop();
      } finally {
        scene.stop();
      }
    }
    return rows;
  } finally {
    desk.close();
    await stop();
  }
};

/** With the square: bytes and tiles of a delta frame, and the fidelity of what was sent 1 s after it stops. */
async function squareDetail(desk: SessionDesktop, scene: { pause(): void }, loop: ReturnType<typeof startCaptureLoop>, frames: VideoFrame[], refinedBefore: number): Promise<BenchRow[]> {
  const movingFrames = frames.length;
  scene.pause();
  await new Promise((r) => setTimeout(r, 1000));
  await loop.stop();
  const screen = await desk.grab();
  if (!screen.ok) throw new Error(screen.error.message);
  const painted = fidelity(screen.value, await paintFrames(W, H, frames));
  const wholeTiles = await encodeTiles(screen.value, keyframeBands(W, H), TileEncoding.TILE_JPEG, QUALITY);
  const wholeBytes = wholeTiles.reduce((n, t) => n + (t.data?.length ?? 0), 0);
  const whole = fidelity(screen.value, await paintFrames(W, H, [{ tiles: wholeTiles }]));
  const refined = loop.stats().refined - refinedBefore;
  const deltas = frames.slice(0, movingFrames).filter((f) => !f.keyframe);
  const deltaBytes = deltas.reduce((n, f) => n + f.tiles!.reduce((m, t) => m + (t.data?.length ?? 0), 0), 0);
  const deltaTiles = deltas.reduce((n, f) => n + f.tiles!.length, 0);
  const firstKeyBytes = frames.find((f) => f.keyframe)?.tiles?.reduce((n, t) => n + (t.data?.length ?? 0), 0) ?? 0;
  const meanDelta = deltas.length ? deltaBytes / deltas.length : 0;
  return [
    {
      figure: `bytes per delta frame (mean, JPEG, start q${QUALITY}, square moving)`,
      value: `${fmt(meanDelta / 1024)} KiB`,
      baseline: `one full-frame JPEG of the same screen at q${QUALITY} (what sending whole frames would cost)`,
      baselineValue: `${fmt(wholeBytes / 1024)} KiB`,
      note: `raw BGRA frame ${fmt((W * H * 4) / 1024)} KiB; first keyframe ${fmt(firstKeyBytes / 1024)} KiB; deltas include the settled tiles refined at q92`,
      measured: { value: round(meanDelta / 1024), unit: 'KiB', baselineValue: round(wholeBytes / 1024) },
    },
    {
      figure: 'tiles per delta frame (mean, 64 px tiles merged up to 512 px, square moving)',
      value: fmt(deltas.length ? deltaTiles / deltas.length : 0),
      baseline: 'tiles in a full frame',
      baselineValue: `${Math.ceil(W / 64) * Math.ceil(H / 64)} (64 px); a keyframe is ${frames[0]?.tiles?.length ?? 0} full-width bands`,
      measured: { value: round(deltas.length ? deltaTiles / deltas.length : 0), unit: 'tiles', baselineValue: Math.ceil(W / 64) * Math.ceil(H / 64) },
    },
    {
      figure: 'fidelity 1 s after the square stopped (every tile sent, painted in order, vs the screen)',
      value: `PSNR ${fmt(painted.psnr)} dB, largest pixel difference ${painted.maxDiff}`,
      baseline: `one full-frame JPEG of the settled screen at q${QUALITY}`,
      baselineValue: `PSNR ${fmt(whole.psnr)} dB, largest pixel difference ${whole.maxDiff}`,
      note: `${refined} settled tiles refined at q92 after the stop (refine.ts)`,
      measured: { value: round(painted.psnr), unit: 'dB PSNR', baselineValue: round(whole.psnr) },
    },
  ];
}

/**
 * After a scroll stops: every frame sent, painted in order (scroll copies included), against the
 * screen 1 s later. A wrong copy would leave whole lines wrong, far below a JPEG's PSNR.
 */
async function settledFidelity(desk: SessionDesktop, scene: { pause(): void }, loop: ReturnType<typeof startCaptureLoop>, frames: VideoFrame[], scrolls: number, label: string): Promise<BenchRow> {
  scene.pause();
  await new Promise((r) => setTimeout(r, 1000));
  await loop.stop();
  const screen = await desk.grab();
  if (!screen.ok) throw new Error(screen.error.message);
  const painted = fidelity(screen.value, await paintFrames(W, H, frames));
  const wholeTiles = await encodeTiles(screen.value, keyframeBands(W, H), TileEncoding.TILE_JPEG, QUALITY);
  const whole = fidelity(screen.value, await paintFrames(W, H, [{ tiles: wholeTiles }]));
  return {
    figure: `fidelity 1 s after the ${label} stopped (every frame sent, scroll copies included, painted in order, vs the screen)`,
    value: `PSNR ${fmt(painted.psnr)} dB, largest pixel difference ${painted.maxDiff}`,
    baseline: `one full-frame JPEG of the settled screen at q${QUALITY}`,
    baselineValue: `PSNR ${fmt(whole.psnr)} dB, largest pixel difference ${whole.maxDiff}`,
    note: `${scrolls} of ${frames.length} frames began with scroll copies (TILE_COPY)`,
    measured: { value: round(painted.psnr), unit: 'dB PSNR', baselineValue: round(whole.psnr) },
  };
}
