/**
 * Dirty-region detection: splits a frame into square tiles, compares each with the previous frame
 * row slice by row slice (memcmp through Buffer.equals), and returns only the changed rectangles,
 * optionally merged into horizontal runs so the encoder makes fewer, larger images.
 */
import type { RawFrame } from '../platform/port.js';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface DiffOptions {
  /** Tile edge in pixels. */
  tileSize?: number;
  /** Merge horizontally adjacent dirty tiles of one band into one rectangle up to this width (0: no merge). */
  mergeWidth?: number;
  /**
   * Rows of tiles at least half dirty, one after another, become one rectangle up to this tall
   * (0: off), clean tiles inside included. When most of the screen changes (scrolling text, video),
   * a 1920x256 band is one encode off the event loop and one decode in the browser instead of 30
   * tiles of 512x64 encoded one after another on it (measured in the capture bench).
   */
  denseBand?: number;
  /** Row ranges [y0, y1) known equal already (scroll copies made them so): never dirty. */
  same?: readonly { y0: number; y1: number }[];
}

/** A row of tiles with at least this share dirty counts as dense (denseBand). */
export const DENSE_SHARE = 0.5;

export const DEFAULT_TILE = 64;
const DEFAULT_MERGE_WIDTH = 512;

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** Every tile rectangle of a `width` x `height` frame (what a keyframe sends). */
export function allTiles(width: number, height: number, opts: DiffOptions = {}): Rect[] {
  const t = opts.tileSize ?? DEFAULT_TILE;
  const dirty: boolean[][] = [];
  for (let y = 0; y < height; y += t) dirty.push(new Array<boolean>(Math.ceil(width / t)).fill(true));
  return toRects(dirty, width, height, t, opts.mergeWidth ?? DEFAULT_MERGE_WIDTH);
}

/**
 * A keyframe as full-width bands: a browser decodes five 1920x256 JPEGs far faster than 68 tiles
 * of 512x64 (measured: each image costs a decode task and an ImageBitmap of its own), and a band
 * stays well under the bus's message size even on a busy 4K screen, so a keyframe can still be split.
 */
export const KEYFRAME_BAND = 256;

/** The rectangles of a keyframe of a `width` x `height` frame. */
export function keyframeBands(width: number, height: number, band = KEYFRAME_BAND): Rect[] {
  const out: Rect[] = [];
  for (let y = 0; y < height; y += band) out.push({ x: 0, y, width, height: Math.min(band, height - y) });
  return out;
}

/** Rectangles of `next` that differ from `prev`; all tiles when there is no comparable previous frame. */
export function dirtyTiles(prev: RawFrame | undefined, next: RawFrame, opts: DiffOptions = {}): Rect[] {
  const t = opts.tileSize ?? DEFAULT_TILE;
  const merge = opts.mergeWidth ?? DEFAULT_MERGE_WIDTH;
  if (!prev || prev.width !== next.width || prev.height !== next.height) return allTiles(next.width, next.height, opts);
  const a = asBuffer(prev.data);
  const b = asBuffer(next.data);
  const cols = Math.ceil(next.width / t);
  const rowBytes = next.width * 4;
  const dirty: boolean[][] = [];
  let known: Uint8Array | undefined;
  if (opts.same?.length) {
    known = new Uint8Array(next.height);
    for (const r of opts.same) known.fill(1, Math.max(0, r.y0), Math.min(next.height, r.y1));
  }
  for (let ty = 0; ty < next.height; ty += t) {
    const band = new Array<boolean>(cols).fill(false);
    let remaining = cols;
    const rows = Math.min(t, next.height - ty);
    for (let r = 0; r < rows && remaining > 0; r++) {
      if (known?.[ty + r]) continue;
      const pa = (ty + r) * prev.stride;
      const pb = (ty + r) * next.stride;
      // Most rows of a mostly static screen are identical: one memcmp settles the whole row.
      if (a.subarray(pa, pa + rowBytes).equals(b.subarray(pb, pb + rowBytes))) continue;
      for (let c = 0; c < cols; c++) {
        if (band[c]) continue;
        const off = c * t * 4;
        const len = Math.min(t, next.width - c * t) * 4;
        if (!a.subarray(pa + off, pa + off + len).equals(b.subarray(pb + off, pb + off + len))) {
          band[c] = true;
          remaining--;
        }
      }
    }
    dirty.push(band);
  }
  return opts.denseBand ? toDenseRects(dirty, next.width, next.height, t, merge, opts.denseBand) : toRects(dirty, next.width, next.height, t, merge);
}

/** toRects, except that runs of dense tile rows become one rectangle each, up to `band` pixels tall. */
function toDenseRects(dirty: boolean[][], width: number, height: number, t: number, mergeWidth: number, band: number): Rect[] {
  const out: Rect[] = [];
  const maxRows = Math.max(1, Math.floor(band / t));
  const dense = (row: boolean[]) => row.filter(Boolean).length >= Math.max(1, row.length * DENSE_SHARE);
  let r = 0;
  while (r < dirty.length) {
    if (!dense(dirty[r]!)) {
      const single = toRects([dirty[r]!], width, height - r * t, t, mergeWidth);
      for (const x of single) out.push({ ...x, y: x.y + r * t });
      r++;
      continue;
    }
    let end = r;
    let first = Number.POSITIVE_INFINITY;
    let last = -1;
    while (end < dirty.length && end - r < maxRows && dense(dirty[end]!)) {
      const row = dirty[end]!;
      first = Math.min(first, row.indexOf(true));
      last = Math.max(last, row.lastIndexOf(true));
      end++;
    }
    const y = r * t;
    const x = first * t;
    out.push({ x, y, width: Math.min((last + 1) * t, width) - x, height: Math.min(end * t, height) - y });
    r = end;
  }
  return out;
}

/** The rectangles of the marked tiles of a grid (rows of columns), merged into runs up to `mergeWidth`. */
export function tileRects(marked: boolean[][], width: number, height: number, t = DEFAULT_TILE, mergeWidth = DEFAULT_MERGE_WIDTH): Rect[] {
  return toRects(marked, width, height, t, mergeWidth);
}

function toRects(dirty: boolean[][], width: number, height: number, t: number, mergeWidth: number): Rect[] {
  const out: Rect[] = [];
  const maxRun = Math.max(1, Math.floor(mergeWidth / t));
  for (const [row, band] of dirty.entries()) {
    const y = row * t;
    const h = Math.min(t, height - y);
    let c = 0;
    while (c < band.length) {
      if (!band[c]) {
        c++;
        continue;
      }
      let end = c + 1;
      while (end < band.length && band[end] && end - c < maxRun) end++;
      const x = c * t;
      out.push({ x, y, width: Math.min(end * t, width) - x, height: h });
      c = end;
    }
  }
  return out;
}
