/**
 * The dashboard's frame painter (services/dashboard/src/viewer/frame-painter.ts) in real Chromium,
 * fed frames a hostile or buggy agent could send: TILE_COPY rectangles outside the picture, of
 * 2^32-1 pixels, reading and writing off the canvas; absurd frame sizes. The picture keeps what it
 * had, later frames still paint, and the page raises no error.
 */
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { buildThenStop } from '../../infra/build/esbuild-then-stop.js';
import { encode, message, pb } from '../../proto/codec.js';
import { collectPageErrors, launchBrowser, newPage } from '../support/browser.js';

const here = dirname(fileURLToPath(import.meta.url));
const U32 = 2 ** 32 - 1;
const I31 = 2 ** 31 - 1;
const W = 64;
const H = 48;

/** A TILE_RAW_BGRA tile of one colour. */
function solid(x: number, y: number, w: number, h: number, [r, g, b]: [number, number, number]) {
  const px = Buffer.alloc(w * h * 4);
  for (let i = 0; i < px.length; i += 4) px.set([b, g, r, 255], i);
  return { x, y, width: w, height: h, encoding: pb.TileEncoding.TILE_RAW_BGRA, data: deflateRawSync(px) };
}
const copy = (srcX: number, srcY: number, x: number, y: number, width: number, height: number) => ({ encoding: pb.TileEncoding.TILE_COPY, srcX, srcY, x, y, width, height });

/** One encoded frame message of session 1, as the relay forwards it. */
function frame(keyframe: boolean, tiles: object[], size: { width: number; height: number } = { width: W, height: H }): number[] {
  return [...encode(message({ videoFrame: { sessionId: 1, keyframe, ...size, tiles, capturedAtMs: Date.now() } }, { agentId: 'a1' }))];
}

describe('frame painter: hostile frames in real Chromium', { timeout: 120_000 }, () => {
  let browser: Browser;
  let page: Page;
  let errors: string[];

  before(async () => {
    const bundle = await buildThenStop({
      stdin: {
        contents: `import { createFramePainter } from './services/dashboard/src/viewer/frame-painter.ts';
          const canvas = document.createElement('canvas');
          document.body.append(canvas);
          const asked = [];
          const painter = createFramePainter(canvas, { needKeyframe: (behind) => asked.push(!!behind) });
          painter.expect(1);
          window.__painter = { painter, canvas, asked };`,
        resolveDir: join(here, '..', '..'),
        loader: 'ts',
      },
      bundle: true,
      format: 'iife',
      write: false,
      logLevel: 'silent',
    });
    browser = await launchBrowser();
    ({ page } = await newPage(browser));
    errors = collectPageErrors(page);
    await page.setContent('<!doctype html><body></body>');
    await page.addScriptTag({ content: bundle.outputFiles[0]!.text });
  });
  after(async () => {
    await browser?.close();
  });

  /**
   * Pushes frames one at a time (the painter drops deltas past a backlog of four, as a slow browser
   * would), each once the last was painted or a liveness bound passed; resolves to frames painted.
   */
  const push = (frames: number[][]) =>
    page.evaluate(async (fs) => {
      const w = window as unknown as { __painter: { painter: { push(d: ArrayBuffer): void; framesPainted: number } } };
      const p = w.__painter.painter;
      for (const f of fs) {
        const before = p.framesPainted;
        p.push(new Uint8Array(f).buffer);
        // A liveness bound, not a timing assertion: a frame the painter refuses never counts.
        for (let i = 0; i < 500 && p.framesPainted === before; i++) await new Promise((r) => setTimeout(r, 10));
      }
      return p.framesPainted;
    }, frames);
  const pixel = (x: number, y: number) =>
    page.evaluate(([px, py]) => (window as unknown as { __painter: { painter: { pixel(x: number, y: number): number[] } } }).__painter.painter.pixel(px!, py!), [x, y]);

  it('copies off the picture, of 2^32-1 pixels, or of nothing change no pixel and stop no later frame', async () => {
    assert.equal(await push([frame(true, [solid(0, 0, W, H, [255, 0, 0])])]), 1);
    assert.deepEqual(await pixel(10, 10), [255, 0, 0, 255]);
    const hostile = [
      copy(U32, U32, 0, 0, U32, U32),
      copy(0, 0, U32, U32, U32, U32),
      copy(0, 0, 0, 0, U32, 1),
      copy(0, 0, W, H, W, H),
      copy(W - 1, H - 1, 0, 0, I31, I31),
      copy(0, 0, 0, 0, 0, 0),
      copy(0, 0, 0, 0, 0, U32),
      copy(2 ** 31, 2 ** 31, 2 ** 31, 2 ** 31, 1, 1),
    ];
    // Each alone (one throwing copy must not hide what the others do), then all in one frame.
    const painted = await push([...hostile.map((t) => frame(false, [t])), frame(false, hostile)]);
    assert.equal(painted, 1 + hostile.length + 1, 'every delta painted');
    // Copies reading off the picture bring nothing in: the picture is red where it was.
    for (const [x, y] of [
      [0, 0],
      [10, 10],
      [W - 1, H - 1],
    ] as const)
      assert.deepEqual(await pixel(x, y), [255, 0, 0, 255], `pixel ${x},${y}`);
    // A sane delta after all that still paints.
    assert.equal(await push([frame(false, [solid(0, 0, 8, 8, [0, 0, 255])])]), hostile.length + 3);
    assert.deepEqual(await pixel(2, 2), [0, 0, 255, 255]);
    assert.deepEqual(await pixel(20, 20), [255, 0, 0, 255]);
    assert.deepEqual(errors, []);
  });

  it('a keyframe of absurd size (2^32-1, 2^31-1, 0) does not leave the viewer unable to paint the next sane one', async () => {
    for (const size of [
      { width: U32, height: U32 },
      { width: I31, height: 1 },
      { width: 0, height: 0 },
      { width: 1, height: U32 },
    ]) {
      await push([frame(true, [solid(0, 0, 4, 4, [0, 255, 0])], size)]);
      const before = await page.evaluate(() => (window as unknown as { __painter: { painter: { framesPainted: number } } }).__painter.painter.framesPainted);
      assert.equal(await push([frame(true, [solid(0, 0, W, H, [0, 255, 0])])]), before + 1, JSON.stringify(size));
      assert.deepEqual(await pixel(5, 5), [0, 255, 0, 255], JSON.stringify(size));
      const dims = await page.evaluate(() => {
        const c = (window as unknown as { __painter: { canvas: HTMLCanvasElement } }).__painter.canvas;
        return [c.width, c.height];
      });
      assert.deepEqual(dims, [W, H]);
    }
    assert.deepEqual(errors, []);
  });

  it('a raw tile that inflates past the size it claims (a DEFLATE bomb), or claims more than its frame, paints nothing and stops no later frame', async () => {
    assert.equal((await push([frame(true, [solid(0, 0, W, H, [255, 255, 0])])])) > 0, true);
    const start = await page.evaluate(() => (window as unknown as { __painter: { painter: { framesPainted: number } } }).__painter.painter.framesPainted);
    // 64 MiB of zeros in ~64 KB, claiming an 8x8 tile; and a tile wider than its 64x48 frame.
    const bomb = { x: 0, y: 0, width: 8, height: 8, encoding: pb.TileEncoding.TILE_RAW_BGRA, data: deflateRawSync(Buffer.alloc(64 * 1024 * 1024)) };
    const wide = { ...solid(0, 0, W, 1, [0, 0, 0]), width: W + 1 };
    assert.equal(await push([frame(false, [bomb]), frame(false, [wide])]), start + 2);
    assert.deepEqual(await pixel(0, 0), [255, 255, 0, 255], 'the bomb painted nothing (zeros would be black)');
    assert.equal(await push([frame(false, [solid(0, 0, 4, 4, [0, 0, 255])])]), start + 3);
    assert.deepEqual(await pixel(1, 1), [0, 0, 255, 255]);
    assert.deepEqual(errors, []);
  });
});
