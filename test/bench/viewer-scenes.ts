/**
 * What the viewer benches measure per scene, shared by viewer.bench.ts (loopback) and
 * viewer-slow-link.bench.ts (5 Mbit/s, 80 ms): frames painted per second in Chromium, bytes per
 * second on the socket, glass-to-glass latency over the first and the last third of the run (a
 * stream that queues shows it as growth), the agent's CPU, and what the agent was sending at the end
 * (frames per second and JPEG quality, read off the frames on the bus: the adaptive pace, measured).
 */
import { existsSync, readFileSync } from 'node:fs';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Page } from 'playwright-core';
import { decode } from '../../proto/codec.js';
import type { AgentId } from '../../proto/ids.js';
import { subjects } from '../../proto/subjects.js';
import { fmt, frameRateMet, latency, p50 } from './stats.js';
import type { BenchRow } from './types.js';

export interface SceneRun {
  seconds: number;
  /** Frames painted per second over the run. */
  fps: number;
  /** Socket bytes per second received by the page. */
  bytesPerSec: number;
  latencies: number[];
  firstThirdP50: number;
  lastThirdP50: number;
  /** Frames dropped by the browser's paint-backlog guard during the run. */
  dropped: number;
  /** Keyframes among the frames painted (each a whole screen: on a slow link, what a dropped frame costs). */
  keyframes: number;
  /** Agent CPU, % of one core, over the run. */
  agentCpuPct: number;
  /** What the agent sent over the last third: frames per second and median JPEG quality. */
  endSentFps: number;
  endQuality: number | undefined;
  /** Where frames went over the run, stage by stage (stageCounts). */
  stages: StageCounts;
}

/**
 * Frames counted at each stage over one run, so a missed rate says where the frames went: capture
 * slots of the run with no frame sent (the loop dropped them, or nothing changed), frames the agent
 * published (seen on the bus), frames the page received (the gateway relayed them), and frames it
 * painted or dropped (its paint-backlog guard); and what the run's edges moved: frames captured before
 * the run but painted in it, and frames captured in it but painted after it ended.
 */
export interface StageCounts {
  /** Capture slots in the run at the agent's nominal rate. */
  slots: number;
  /** Slots with no frame captured and sent (skipped by the loop, or unchanged). */
  slotsMissed: number;
  /**
   * Capture slots in which the screen itself did not change (the scene's own ticks stalled on this busy
   * machine, so a grab there finds nothing new); undefined when the scene does not record its changes.
   */
  screenStillSlots?: number;
  /** Frames the agent captured in the run and published (a keyframe split into several messages is one). */
  sent: number;
  /** Gaps in the agent's sequence numbers on the bus (messages lost on the bus or never published). */
  seqGaps: number;
  /** Frames the page received during the run (the gateway relayed them). */
  received: number;
  /** Frames painted during the run. */
  painted: number;
  droppedByBrowser: number;
  /** Of those painted, captured before the run began. */
  paintedFromBefore: number;
  /** Captured in the run, painted after it ended (within the bench's look after the end). */
  paintedAfterEnd: number;
}

export interface SentFrame {
  /** Date.now() when the bench saw it on the bus. */
  at: number;
  quality: number | undefined;
  seq: number;
  capturedAtMs: number;
}

/** What the page counted over the run (see StageCounts). */
export interface PageCounts {
  received: number;
  painted: number;
  dropped: number;
  paintedFromBefore: number;
  paintedAfterEnd: number;
}

/** The counts on one line, as the bench prints them. */
export const fmtStages = (c: StageCounts) =>
  `capture slots ${c.slots}, missed ${c.slotsMissed}${c.screenStillSlots === undefined ? '' : ` (screen unchanged in ${c.screenStillSlots})`} | sent ${c.sent} (${c.seqGaps} seq gaps) | received ${c.received} | painted ${c.painted} (window edges: +${c.paintedFromBefore} captured before, -${c.paintedAfterEnd} painted after), ${c.droppedByBrowser} dropped`;

/**
 * The stage counts of a run [from, to] (Date.now() times) at a nominal `fps`, from the frames seen on
 * the bus (`sent`, counted by capture time) and what the page counted.
 */
/**
 * Slots of `fps` in [from, to] in which no change was drawn: each gap between consecutive changes of
 * g ms holds about round(g × fps / 1000) − 1 such slots (a 60-a-second scene has none).
 */
export function stillSlots(changes: number[], from: number, to: number, fps: number): number {
  const t = changes.filter((c) => c >= from && c <= to);
  if (!(fps > 0) || to <= from) return 0;
  if (!t.length) return Math.round(((to - from) * fps) / 1000);
  let still = 0;
  const edges = [from, ...t, to];
  for (let i = 1; i < edges.length; i++) still += Math.max(0, Math.round(((edges[i]! - edges[i - 1]!) * fps) / 1000) - 1);
  return still;
}

export function stageCounts(sent: SentFrame[], from: number, to: number, fps: number, page: PageCounts, changes?: number[]): StageCounts {
  const inRun = sent.filter((s) => s.capturedAtMs >= from && s.capturedAtMs <= to);
  const captures = new Set(inRun.map((s) => s.capturedAtMs)).size;
  let seqGaps = 0;
  for (let i = 1; i < inRun.length; i++) {
    const a = inRun[i - 1]!.seq;
    const b = inRun[i]!.seq;
    if (b > a + 1) seqGaps += b - a - 1;
  }
  const slots = to > from && fps > 0 ? Math.round(((to - from) * fps) / 1000) : 0;
  return {
    slots,
    slotsMissed: Math.max(0, slots - captures),
    ...(changes ? { screenStillSlots: stillSlots(changes, from, to, fps) } : {}),
    sent: captures,
    seqGaps,
    received: page.received,
    painted: page.painted,
    droppedByBrowser: page.dropped,
    paintedFromBefore: page.paintedFromBefore,
    paintedAfterEnd: page.paintedAfterEnd,
  };
}

/** utime + stime of a process, in ms (Linux /proc; clock ticks are 100 a second). */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The standard libjpeg luminance table: a JPEG's own table against it gives the quality it was made at. */
const STD_LUMA = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
  49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
const STD_SUM = STD_LUMA.reduce((a, b) => a + b, 0);

/** The libjpeg quality (1..100) a JPEG was encoded at, from its first quantisation table; undefined when none. */
export function jpegQuality(jpeg: Uint8Array): number | undefined {
  for (let i = 2; i + 4 < jpeg.length; ) {
    if (jpeg[i] !== 0xff) return undefined;
    const marker = jpeg[i + 1]!;
    const len = (jpeg[i + 2]! << 8) | jpeg[i + 3]!;
    if (marker === 0xdb && jpeg[i + 4]! >> 4 === 0) {
      let sum = 0;
      for (let k = 0; k < 64; k++) sum += jpeg[i + 5 + k]!;
      const scale = (sum * 100) / STD_SUM;
      return Math.max(1, Math.min(100, Math.round(scale <= 100 ? (200 - scale) / 2 : 5000 / scale)));
    }
    if (marker === 0xda) return undefined;
    i += 2 + len;
  }
  return undefined;
}

/** Watches the frames an agent publishes for one session: arrival times and each frame's JPEG quality. */
export function watchSentFrames(nc: NatsConnection, agentId: AgentId, sessionId: number) {
  const sent: SentFrame[] = [];
  const sub = nc.subscribe(subjects.frame(agentId, sessionId), {
    callback: (e, m) => {
      if (e) return;
      const r = decode(m.data, m.subject);
      const tile = r.ok ? r.value.videoFrame?.tiles?.find((t) => t.data?.length) : undefined;
      const f = r.ok ? r.value.videoFrame : undefined;
      sent.push({ at: Date.now(), quality: tile?.data ? jpegQuality(tile.data) : undefined, seq: Number(f?.seq ?? 0), capturedAtMs: Number(f?.capturedAtMs ?? 0) });
    },
  });
  return { sent, stop: () => sub.unsubscribe() };
}

/** How long after a run the bench looks for the frames that were in transit when it ended. */
const LOOK_AFTER_MS = 300;

/**
 * Runs `ms` of whatever the screen shows with `page` watching it; `agentPid` for the CPU figure and
 * `sent` (watchSentFrames) for what the agent sent.
 */
export async function measureScene(page: Page, ms: number, agentPid: number, sent: SentFrame[], changes?: number[], nominalFps = 30): Promise<SceneRun> {
  const before = await page.evaluate(() => {
    const p = window.__gcViewer!.paint;
    return { now: Date.now(), bytes: p.receivedBytes, dropped: p.dropped, received: p.received };
  });
  const cpu0 = processCpuMs(agentPid);
  await new Promise((r) => setTimeout(r, ms));
  const cpu1 = processCpuMs(agentPid);
  const after = await page.evaluate((since) => {
    const p = window.__gcViewer!.paint;
    return { now: Date.now(), bytes: p.receivedBytes, dropped: p.dropped, received: p.received, samples: p.samples.filter((s) => s.at >= since) };
  }, before.now);
  // The frames in transit when the run ended land within a few frames' time: look, to count them (not in the figures).
  await new Promise((r) => setTimeout(r, LOOK_AFTER_MS));
  const late = await page.evaluate((end) => window.__gcViewer!.paint.samples.filter((s) => s.at > end), after.now);
  const seconds = (after.now - before.now) / 1000;
  const third = (after.now - before.now) / 3;
  const firstEnd = before.now + third;
  const lastStart = after.now - third;
  const lat = (from: number, to: number) => after.samples.filter((s) => s.at >= from && s.at < to).map((s) => s.latencyMs);
  const end = sent.filter((s) => s.at >= lastStart && s.at <= after.now);
  const qualities = end.map((s) => s.quality).filter((q): q is number => q !== undefined);
  return {
    seconds,
    fps: after.samples.length / seconds,
    bytesPerSec: (after.bytes - before.bytes) / seconds,
    latencies: after.samples.map((s) => s.latencyMs),
    firstThirdP50: p50(lat(before.now, firstEnd)),
    lastThirdP50: p50(lat(lastStart, after.now + 1)),
    dropped: after.dropped - before.dropped,
    keyframes: after.samples.filter((s) => s.keyframe).length,
    agentCpuPct: ((cpu1 - cpu0) / (seconds * 1000)) * 100,
    endSentFps: end.length / (third / 1000),
    endQuality: qualities.length ? p50(qualities) : undefined,
    stages: stageCounts(
      sent,
      before.now,
      after.now,
      nominalFps,
      {
        received: after.received - before.received,
        painted: after.samples.length,
        dropped: after.dropped - before.dropped,
        paintedFromBefore: after.samples.filter((s) => s.at - s.latencyMs < before.now).length,
        paintedAfterEnd: late.filter((s) => s.at - s.latencyMs <= after.now).length,
      },
      changes?.length ? changes : undefined,
    ),
  };
}

/** Latency counted as growing when the last third's median is over 1.5x the first third's. */
export const GROWTH_LIMIT = 1.5;
/**
 * And as queued when the last third's median is over this, growing or not: a stream that filled the
 * link's queue in its first second is steady at seconds behind (the same bound as a switch's first frame).
 */
export const QUEUED_MS = 500;

const round = (n: number, digits = 1) => (Number.isFinite(n) ? Math.round(n * 10 ** digits) / 10 ** digits : n);
const kibs = (n: number) => `${fmt(n / 1024)} KiB/s`;

/**
 * The rows of one scene: painted fps (goal `fpsGoal` when given), latency with its growth, bytes per
 * second and agent CPU; the baseline of each is `base` (whole frames grabbed and JPEG-encoded at the
 * same quality on this machine, measured in the same run).
 */
export function sceneRows(label: string, r: SceneRun, base: { fps: number; bytesPerFrame: number; cpuMsPerFrame: number; quality: number }, opts: { fpsGoal?: boolean; where: string }): BenchRow[] {
  const growth = r.lastThirdP50 / r.firstThirdP50;
  const grows = !(growth <= GROWTH_LIMIT);
  const queued = !(r.lastThirdP50 <= QUEUED_MS);
  const pace = `agent sending ${fmt(r.endSentFps)} fps at JPEG q${r.endQuality ?? '?'} over the last third`;
  return [
    {
      figure: `frames painted per second in Chromium (${label}, ${opts.where})`,
      value: `${fmt(r.fps)} fps (${pace}; ${r.keyframes} keyframes painted; ${r.dropped} dropped by the browser)`,
      baseline: `whole frames grabbed and JPEG-encoded at q${base.quality} back to back (this machine's limit of the plain approach)`,
      baselineValue: `${fmt(base.fps)} frames/s`,
      note: `${opts.fpsGoal ? `goal ≥ 30 fps painted: ${frameRateMet(r.fps, r.seconds, 30) ? 'met' : 'missed'}; ` : ''}frames by stage over ${fmt(r.seconds)} s: ${fmtStages(r.stages)}`,
      measured: { value: round(r.fps), unit: 'frames/s', baselineValue: round(base.fps), ...(opts.fpsGoal ? { goal: '≥ 30 frames/s painted', met: frameRateMet(r.fps, r.seconds, 30) } : {}) },
    },
    {
      figure: `glass-to-glass latency, agent capture -> Chromium paint (${label}, ${opts.where})`,
      value: latency(r.latencies),
      baseline: 'one whole frame grabbed and JPEG-encoded (its time at the baseline rate)',
      baselineValue: `${fmt(1000 / base.fps)} ms`,
      note: `median over the first third ${fmt(r.firstThirdP50)} ms, last third ${fmt(r.lastThirdP50)} ms (${fmt(growth)}x): ${grows ? 'growing' : 'not growing'}${queued ? `, but over ${QUEUED_MS} ms behind (queued)` : ''}: ${grows || queued ? 'missed' : 'met'}`,
      measured: {
        value: round(p50(r.latencies)),
        unit: 'ms p50',
        baselineValue: round(1000 / base.fps),
        goal: `no queueing: last-third p50 ≤ ${GROWTH_LIMIT}x first-third p50 and ≤ ${QUEUED_MS} ms`,
        met: !grows && !queued,
      },
    },
    {
      figure: `bytes per second to the browser (${label}, ${opts.where})`,
      value: kibs(r.bytesPerSec),
      baseline: `whole frames at q${base.quality} at the painted rate`,
      baselineValue: kibs(base.bytesPerFrame * r.fps),
      measured: { value: round(r.bytesPerSec / 1024), unit: 'KiB/s', baselineValue: round((base.bytesPerFrame * r.fps) / 1024) },
    },
    {
      figure: `agent CPU while streaming (${label}, ${opts.where})`,
      value: `${fmt(r.agentCpuPct)} % of one core`,
      baseline: 'whole-frame grab + JPEG at the painted rate (in the bench process)',
      baselineValue: `${fmt((base.cpuMsPerFrame * r.fps) / 10)} % of one core`,
      measured: { value: round(r.agentCpuPct), unit: '% of one core', baselineValue: round((base.cpuMsPerFrame * r.fps) / 10) },
    },
  ];
}

/**
 * The gateway's pace decisions for its viewers since `since` (Date.now()), read from its log: each
 * "fps/quality" with what made it (behind: frames dropped for the viewer, by its socket, its budget
 * or its browser), seconds after `since`. A rate cut is frames the agent is told not to send.
 */
export function paceChanges(gatewayLog: string, since: number): string {
  if (!existsSync(gatewayLog)) return 'no gateway log';
  const out: string[] = [];
  for (const line of readFileSync(gatewayLog, 'utf8').split('\n')) {
    if (!line.includes('viewer pace')) continue;
    try {
      const l = JSON.parse(line) as { time: string; fps: number; quality: number; behind: boolean; offered_kib_s?: number; delivered_kib_s?: number };
      const at = Date.parse(l.time);
      if (at < since) continue;
      out.push(`${l.fps}/${l.quality}${l.behind ? ' behind' : ''} (offered ${l.offered_kib_s ?? '?'}, delivered ${l.delivered_kib_s ?? '?'} KiB/s) at +${fmt((at - since) / 1000)} s`);
    } catch {}
  }
  return out.length ? out.join('; ') : 'none';
}
