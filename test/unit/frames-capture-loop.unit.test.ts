import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { splitByBudget, startCaptureLoop, type VideoFrame } from '../../agent/frames/capture-loop.js';
import { captureTrace } from '../../agent/frames/capture-trace.js';
import { TileEncoding } from '../../agent/frames/encode.js';
import { qualityGovernor } from '../../agent/frames/quality.js';
import { ok } from '../../proto/errors.js';
import type { RawFrame, SessionDesktop } from '../../agent/platform/port.js';

/** An in-memory desktop whose next frame the test sets; counts concurrent grabs. */
function scriptedDesktop(first: RawFrame, grabDelayMs = 0) {
  let current = first;
  let running = 0;
  let maxConcurrent = 0;
  const desktop: SessionDesktop = {
    sessionId: 7,
    async grab() {
      running++;
      maxConcurrent = Math.max(maxConcurrent, running);
      if (grabDelayMs) await new Promise((r) => setTimeout(r, grabDelayMs));
      running--;
      return ok({ ...current, data: Buffer.from(current.data) });
    },
    mouse: () => ok(undefined),
    key: () => ok(undefined),
    clearClipboard: () => ok(undefined),
    close() {},
  };
  return { desktop, set: (f: RawFrame) => (current = f), maxConcurrent: () => maxConcurrent };
}

const solid = (w: number, h: number, v: number): RawFrame => ({ width: w, height: h, stride: w * 4, data: Buffer.alloc(w * h * 4, v) });

/** Resolves once `probe` holds; rejects naming `what` after `timeoutMs` (a stalled loop fails, not hangs). */
function until(probe: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const iv = setInterval(() => {
      if (probe()) {
        clearInterval(iv);
        resolve();
      } else if (Date.now() > deadline) {
        clearInterval(iv);
        reject(new Error(`timed out waiting for ${what}`));
      }
    }, 5);
  });
}

/** Resolves with the next frame matching `pred`; rejects when none comes within `timeoutMs`. */
async function nextFrame(frames: VideoFrame[], pred: (f: VideoFrame) => boolean, timeoutMs = 5000): Promise<VideoFrame> {
  const seen = frames.length;
  const found = () => frames.slice(seen).find(pred);
  await until(() => found() !== undefined, `a frame matching ${pred}`, timeoutMs);
  return found()!;
}

test('first frame is a keyframe of all tiles, then only changed tiles, and a size change forces a keyframe', async () => {
  const d = scriptedDesktop(solid(256, 128, 0x40));
  const frames: VideoFrame[] = [];
  const loop = startCaptureLoop(d.desktop, { fps: 50, quality: 60, epoch: () => 3, onFrame: (f) => frames.push(f), encoding: TileEncoding.TILE_RAW_BGRA });
  try {
    const key = await nextFrame(frames, () => true);
    assert.equal(key.keyframe, true);
    assert.equal(key.seq, 1);
    assert.equal(key.epoch, 3);
    assert.equal(key.sessionId, 7);
    const area = key.tiles!.reduce((n, t) => n + t.width! * t.height!, 0);
    assert.equal(area, 256 * 128);

    const changed = solid(256, 128, 0x40);
    changed.data.fill(0x99, (70 * 256 + 130) * 4, (70 * 256 + 140) * 4);
    d.set(changed);
    const delta = await nextFrame(frames, (f) => !f.keyframe);
    assert.deepEqual(
      delta.tiles!.map((t) => [t.x, t.y, t.width, t.height]),
      [[128, 64, 64, 64]],
    );
    // The desktop stays as it is now: the next grabs find nothing changed and must send nothing.
    const sent = frames.length;
    const unchanged = loop.stats().unchanged;
    await until(() => loop.stats().unchanged >= unchanged + 3, 'three more grabs of an unchanged desktop');
    assert.equal(frames.length, sent, 'unchanged grabs send nothing');

    d.set(solid(320, 128, 0x40));
    const resized = await nextFrame(frames, (f) => f.width === 320);
    assert.equal(resized.keyframe, true);

    loop.requestKeyframe();
    const forced = await nextFrame(frames, (f) => f.keyframe === true);
    assert.equal(forced.width, 320);
    const seqs = frames.map((f) => Number(f.seq));
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => i + 1),
    );
  } finally {
    await loop.stop();
  }
});

test('a loop started again on the same desktop grabs into the buffers the stopped one left, and still starts with a keyframe', async () => {
  // A desktop that hands out a new buffer unless given one to reuse, and notes what it was given.
  const given: (Uint8Array | undefined)[] = [];
  const made: Uint8Array[] = [];
  let fill = 0x10;
  const grabInto = (recycle: RawFrame | undefined): RawFrame => {
    given.push(recycle?.data);
    const data = recycle && recycle.data.byteLength === 64 * 64 * 4 ? recycle.data : Buffer.alloc(64 * 64 * 4);
    if (data !== recycle?.data) made.push(data);
    data.fill(fill);
    return { width: 64, height: 64, stride: 256, data };
  };
  const desktop = (sessionId: number): SessionDesktop => ({
    sessionId,
    grab: async (recycle) => ok(grabInto(recycle)),
    mouse: () => ok(undefined),
    key: () => ok(undefined),
    clearClipboard: () => ok(undefined),
    close() {},
  });
  const d = desktop(1);
  const frames: VideoFrame[] = [];
  const opts = { fps: 50, quality: 60, epoch: () => 0, onFrame: (f: VideoFrame) => frames.push(f), encoding: TileEncoding.TILE_RAW_BGRA };
  const first = startCaptureLoop(d, opts);
  await until(() => given.length >= 4, 'four grabs');
  await first.stop();
  assert.equal(made.length, 2, 'a running loop keeps two buffers: the last frame and the one before');

  given.length = 0;
  fill = 0x20;
  const again = startCaptureLoop(d, opts);
  const before = frames.length;
  try {
    const key = await nextFrame(frames, () => true);
    assert.equal(key.keyframe, true, 'whatever the reused buffer held, the first frame is a keyframe');
    assert.equal(frames.length, before + 1);
    await until(() => given.length >= 3, 'three grabs of the new loop');
    assert.ok(given[0] && made.includes(given[0]), 'the first grab reuses a buffer the stopped loop left');
    assert.ok(given[1] && made.includes(given[1]) && given[1] !== given[0], 'the second grab reuses the other one');
    assert.equal(made.length, 2, 'no new buffer was made');
  } finally {
    await again.stop();
  }

  // Another desktop gets none of them; a second stop() of a stopped loop parks nothing twice.
  await again.stop();
  given.length = 0;
  const other = startCaptureLoop(desktop(2), opts);
  try {
    await until(() => given.length >= 1, 'a grab on another desktop');
    assert.equal(given[0], undefined, "another desktop's loop starts without spares");
  } finally {
    await other.stop();
  }
});

test('a slow grab drops ticks instead of queueing them, and grabs never overlap', async () => {
  const d = scriptedDesktop(solid(64, 64, 1), 150);
  const frames: VideoFrame[] = [];
  const loop = startCaptureLoop(d.desktop, { fps: 30, quality: 60, epoch: () => 0, onFrame: (f) => frames.push(f) });
  await nextFrame(frames, () => true);
  d.set(solid(64, 64, 2));
  await nextFrame(frames, (f) => !f.keyframe);
  await loop.stop();
  const s = loop.stats();
  assert.equal(d.maxConcurrent(), 1);
  assert.ok(s.skippedTicks >= 2, `skipped ${s.skippedTicks}`);
  const after = frames.length;
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(frames.length, after, 'no frames after stop()');
});

test('GC_CAPTURE_TRACE: a line per frame, sent or unchanged, written when the loop stops; unset or empty writes nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gc-trace-'));
  const path = join(dir, 'trace.jsonl');
  const before = process.env.GC_CAPTURE_TRACE;
  try {
    for (const value of [undefined, '']) {
      if (value === undefined) delete process.env.GC_CAPTURE_TRACE;
      else process.env.GC_CAPTURE_TRACE = value;
      const d = scriptedDesktop(solid(64, 64, 1));
      const frames: VideoFrame[] = [];
      const loop = startCaptureLoop(d.desktop, { fps: 50, quality: 60, epoch: () => 0, onFrame: (f) => frames.push(f), encoding: TileEncoding.TILE_RAW_BGRA });
      await nextFrame(frames, () => true);
      await loop.stop();
    }
    assert.equal(existsSync(path), false, 'no trace unless asked for');
    process.env.GC_CAPTURE_TRACE = path;
    const d = scriptedDesktop(solid(64, 64, 1));
    const frames: VideoFrame[] = [];
    const loop = startCaptureLoop(d.desktop, { fps: 50, quality: 60, epoch: () => 0, onFrame: (f) => frames.push(f), encoding: TileEncoding.TILE_RAW_BGRA });
    await nextFrame(frames, () => true);
    await until(() => loop.stats().unchanged >= 1, 'an unchanged grab');
    d.set(solid(64, 64, 2));
    await nextFrame(frames, (f) => !f.keyframe);
    assert.equal(existsSync(path), false, 'nothing is written while the loop runs');
    await loop.stop();
    const lines = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(typeof lines[0]!.timeOrigin, 'number');
    const sent = lines.filter((l) => 'due' in l && !l.unchanged);
    const unchanged = lines.filter((l) => l.unchanged === true);
    assert.equal(sent.length, frames.length, 'one line per frame sent');
    assert.ok(unchanged.length >= 1, 'unchanged grabs are traced too');
    for (const l of sent) {
      for (const k of ['due', 'started', 'grabMs', 'analyseMs', 'encodeMs', 'publishMs', 'skipped', 'rects']) assert.ok(Number.isFinite(l[k]) && (l[k] as number) >= 0, `${k}: ${l[k]}`);
    }
  } finally {
    if (before === undefined) delete process.env.GC_CAPTURE_TRACE;
    else process.env.GC_CAPTURE_TRACE = before;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('GC_CAPTURE_TRACE naming nothing writable (NUL, 100k chars, a directory, a lone surrogate in a missing directory) costs the trace, never the capture', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gc-trace-'));
  const before = process.env.GC_CAPTURE_TRACE;
  try {
    // An environment variable cannot hold a NUL (the process environment would cut it there): given directly.
    const nul = captureTrace(`${dir}/a\0b`);
    nul.frame({ due: 0, started: 0, grabMs: 0, analyseMs: 0, encodeMs: 0, publishMs: 0, skipped: 0, rects: 0, copies: 0 });
    nul.flush();
    for (const value of [`${dir}/${'x'.repeat(100_000)}`, dir, `${dir}/missing/\ud800.jsonl`]) {
      process.env.GC_CAPTURE_TRACE = value;
      const d = scriptedDesktop(solid(64, 64, 1));
      const frames: VideoFrame[] = [];
      const loop = startCaptureLoop(d.desktop, { fps: 50, quality: 60, epoch: () => 0, onFrame: (f) => frames.push(f), encoding: TileEncoding.TILE_RAW_BGRA });
      await nextFrame(frames, () => true);
      d.set(solid(64, 64, 2));
      await nextFrame(frames, (f) => !f.keyframe);
      await loop.stop();
      assert.equal(loop.stats().grabErrors, 0, JSON.stringify(value.slice(-20)));
    }
    assert.deepEqual(readdirSync(dir), [], 'nothing written anywhere');
  } finally {
    if (before === undefined) delete process.env.GC_CAPTURE_TRACE;
    else process.env.GC_CAPTURE_TRACE = before;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('quality governor steps down on overrun, to a floor, and back up slowly with headroom', () => {
  const q = qualityGovernor(80, 20);
  q.observe(50, 33);
  assert.equal(q.current, 70);
  for (let i = 0; i < 20; i++) q.observe(50, 33);
  assert.equal(q.current, 20);
  for (let i = 0; i < 14; i++) q.observe(5, 33);
  assert.equal(q.current, 20);
  q.observe(5, 33);
  assert.equal(q.current, 25);
  for (let i = 0; i < 200; i++) q.observe(5, 33);
  assert.equal(q.current, 80);
  q.setTarget(40);
  assert.equal(q.current, 40);
});

test('tiles are split into messages under the byte budget, in order', () => {
  const tiles = [300, 300, 300, 50].map((n, i) => ({ x: i, data: new Uint8Array(n) }));
  const parts = splitByBudget(tiles, 700);
  assert.deepEqual(
    parts.map((p) => p.map((t) => t.x)),
    [
      [0, 1],
      [2, 3],
    ],
  );
});
