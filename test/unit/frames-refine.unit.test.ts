/** Settled-tile refinement: lossy tiles are sent once more at high quality after they stop changing. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startCaptureLoop, type VideoFrame } from '../../agent/frames/capture-loop.js';
import { TileEncoding } from '../../agent/frames/encode.js';
import { REFINE_QUALITY, refineTracker } from '../../agent/frames/refine.js';
import { keyframeBands, type Rect } from '../../agent/frames/tiles.js';
import type { RawFrame, SessionDesktop } from '../../agent/platform/port.js';
import { ok } from '../../proto/errors.js';

const area = (rs: Rect[]) => rs.reduce((n, r) => n + r.width * r.height, 0);

describe('refine tracker', () => {
  it('hands out a lossy tile once, only after it settled', () => {
    const t = refineTracker(256, 128);
    t.sent([{ x: 64, y: 0, width: 64, height: 64 }], 60, 1000);
    assert.deepEqual(t.due(1100), [], 'not settled yet');
    assert.deepEqual(t.due(1300), [{ x: 64, y: 0, width: 64, height: 64 }]);
    assert.deepEqual(t.due(2000), [], 'refined once');
  });

  it('never refines what was sent at the refine quality or above, and re-arms a tile that changes again', () => {
    const t = refineTracker(256, 128);
    t.sent([{ x: 0, y: 0, width: 256, height: 128 }], REFINE_QUALITY, 0);
    assert.deepEqual(t.due(10_000), []);
    t.sent([{ x: 0, y: 64, width: 64, height: 64 }], 50, 10_000);
    assert.deepEqual(t.due(10_300), [{ x: 0, y: 64, width: 64, height: 64 }]);
    t.sent([{ x: 0, y: 64, width: 64, height: 64 }], 50, 10_400);
    assert.deepEqual(t.due(10_500), [], 'changed again: waits to settle again');
    assert.deepEqual(t.due(10_700), [{ x: 0, y: 64, width: 64, height: 64 }]);
  });

  it('spreads a whole settled 1080p screen over frames of at most 64 tiles, covering every pixel once', () => {
    const t = refineTracker(1920, 1080);
    t.sent(keyframeBands(1920, 1080), 60, 0);
    let covered = 0;
    let frames = 0;
    for (let now = 1000; ; now += 33) {
      const due = t.due(now);
      if (due.length === 0) break;
      frames++;
      assert.ok(area(due) <= 64 * 64 * 64, `frame ${frames}: ${area(due)} px`);
      covered += area(due);
    }
    assert.equal(covered, 1920 * 1080);
    assert.equal(frames, Math.ceil((30 * 17) / 64));
  });
});

describe('capture loop refinement', () => {
  it('sends changed JPEG tiles, then the same tiles again once they settle, then nothing', async () => {
    const w = 256;
    const h = 128;
    const frame = (boxX: number): RawFrame => {
      const data = Buffer.alloc(w * h * 4, 0x30);
      for (let y = 10; y < 40; y++) for (let x = boxX; x < boxX + 30; x++) data.writeUInt32LE(0xffffcc00, (y * w + x) * 4);
      return { width: w, height: h, stride: w * 4, data };
    };
    let current = frame(10);
    const desktop: SessionDesktop = {
      sessionId: 1,
      grab: async () => ok({ ...current, data: Buffer.from(current.data) }),
      mouse: () => ok(undefined),
      key: () => ok(undefined),
      clearClipboard: () => ok(undefined),
      close() {},
    };
    const frames: VideoFrame[] = [];
    const loop = startCaptureLoop(desktop, { fps: 50, quality: 50, epoch: () => 1, onFrame: (f) => frames.push(f), encoding: TileEncoding.TILE_JPEG });
    const waitFor = async (probe: () => boolean, what: string) => {
      for (const end = Date.now() + 5000; !probe(); ) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    try {
      await waitFor(() => loop.stats().refined > 0, 'the keyframe to be refined');
      const keyRefined = loop.stats().refined;
      current = frame(140); // the box moves from the first tile into the third
      const before = frames.length;
      await waitFor(() => loop.stats().refined > keyRefined, 'the moved box to be refined');
      const after = frames.slice(before);
      const delta = after[0]!;
      const refineFrame = after.find((f) => f !== delta && (f.tiles ?? []).length > 0)!;
      const rectsOf = (f: VideoFrame) => (f.tiles ?? []).map((t) => `${t.x},${t.y},${t.width},${t.height}`).sort();
      assert.deepEqual(rectsOf(refineFrame), rectsOf(delta), 'the settled tiles are exactly the ones that changed');
      const sizes = (f: VideoFrame) => (f.tiles ?? []).reduce((n, t) => n + (t.data?.length ?? 0), 0);
      assert.ok(sizes(refineFrame) > sizes(delta), 'sent again at a higher quality (more bytes)');
      const settledAt = frames.length;
      await new Promise((r) => setTimeout(r, 600));
      assert.equal(frames.length, settledAt, 'nothing more once refined');
    } finally {
      await loop.stop();
    }
  });
});
