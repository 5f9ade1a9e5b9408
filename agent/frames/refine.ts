/**
 * Settled-tile refinement. Only changed pixels are resent, so a tile last sent as a lossy JPEG keeps
 * its artefacts for as long as it stays unchanged: the dark streaks a moving block leaves on a flat
 * background, or blurred text after a scroll. Good remote-desktop tools refine: once a region has
 * settled, it is sent once more at high quality. This tracks, per tile, whether its last encoding
 * was below the refine quality and when it last changed, and hands out the settled lossy tiles a
 * bounded number at a time, so a whole screen that just stopped moving is refined over a few frames
 * instead of in one burst.
 */
import { DEFAULT_TILE, type Rect, tileRects } from './tiles.js';

/** JPEG at this quality uses 4:4:4 sampling (turbo-jpeg.ts): no chroma bleeding at edges. */
export const REFINE_QUALITY = 92;

export interface RefineOptions {
  /** How long a tile must stay unchanged before it is refined. */
  settleMs?: number;
  /** Most tiles refined per frame (64 tiles of 64 px: a 512x512 area). */
  maxTilesPerFrame?: number;
  tileSize?: number;
  quality?: number;
}

const refineDefaults = { settleMs: 250, maxTilesPerFrame: 64, tileSize: DEFAULT_TILE, quality: REFINE_QUALITY } as const;

export interface RefineTracker {
  readonly quality: number;
  /** Records that the tiles under `rects` were sent at `quality` at `now` (ms). */
  sent(rects: readonly Rect[], quality: number, now: number): void;
  /** Settled lossy tiles due for refinement at `now`, at most the per-frame bound, marked refined. */
  due(now: number): Rect[];
  /** Forgets everything (a new frame size). */
  reset(width: number, height: number): void;
}

/** A tracker for a `width` x `height` desktop. */
export function refineTracker(width: number, height: number, o: RefineOptions = {}): RefineTracker {
  const opt = { ...refineDefaults, ...o };
  const t = opt.tileSize;
  let cols = 0;
  let rows = 0;
  let w = 0;
  let h = 0;
  /** When each tile last changed (ms); only meaningful where `lossy` is set. */
  let changedAt = new Float64Array(0);
  let lossy = new Uint8Array(0);
  let pending = 0;

  const reset = (nw: number, nh: number) => {
    w = nw;
    h = nh;
    cols = Math.ceil(nw / t);
    rows = Math.ceil(nh / t);
    changedAt = new Float64Array(cols * rows);
    lossy = new Uint8Array(cols * rows);
    pending = 0;
  };
  reset(width, height);

  return {
    quality: opt.quality,
    sent(rects, quality, now) {
      const mark = quality < opt.quality ? 1 : 0;
      for (const r of rects) {
        for (let ty = Math.floor(r.y / t); ty < Math.min(rows, Math.ceil((r.y + r.height) / t)); ty++) {
          for (let tx = Math.floor(r.x / t); tx < Math.min(cols, Math.ceil((r.x + r.width) / t)); tx++) {
            const i = ty * cols + tx;
            pending += mark - lossy[i]!;
            lossy[i] = mark;
            changedAt[i] = now;
          }
        }
      }
    },
    due(now) {
      if (pending === 0) return [];
      const picked: boolean[][] = [];
      let left = opt.maxTilesPerFrame;
      for (let ty = 0; ty < rows; ty++) {
        const band = new Array<boolean>(cols).fill(false);
        for (let tx = 0; tx < cols && left > 0; tx++) {
          const i = ty * cols + tx;
          if (!lossy[i] || now - changedAt[i]! < opt.settleMs) continue;
          band[tx] = true;
          lossy[i] = 0;
          pending--;
          left--;
        }
        picked.push(band);
      }
      return tileRects(picked, w, h, t);
    },
    reset,
  };
}
