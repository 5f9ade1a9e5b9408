/** Paints VideoFrame tiles onto an RGBA image the way the dashboard's canvas does, for fidelity figures. */
import sharp from 'sharp';
import type { VideoFrame } from '../../agent/frames/capture-loop.js';
import { TileEncoding } from '../../agent/frames/encode.js';

/** An RGBA image of `width` x `height` with every frame's tiles drawn in order. */
export async function paintFrames(width: number, height: number, frames: readonly VideoFrame[]): Promise<Buffer> {
  const canvas = Buffer.alloc(width * height * 4);
  for (const f of frames) {
    for (const t of f.tiles ?? []) {
      if (t.encoding === TileEncoding.TILE_COPY) {
        // As the browser's drawImage of a canvas onto itself: the source is read whole before it is written.
        const w = Math.min(t.width ?? 0, width - (t.x ?? 0)) * 4;
        const src = Buffer.alloc(w * (t.height ?? 0));
        for (let y = 0; y < (t.height ?? 0); y++) canvas.copy(src, y * w, (((t.srcY ?? 0) + y) * width + (t.srcX ?? 0)) * 4, (((t.srcY ?? 0) + y) * width + (t.srcX ?? 0)) * 4 + w);
        for (let y = 0; y < (t.height ?? 0); y++) src.copy(canvas, (((t.y ?? 0) + y) * width + (t.x ?? 0)) * 4, y * w, (y + 1) * w);
        continue;
      }
      const { data, info } = await sharp(Buffer.from(t.data!)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      const x0 = t.x ?? 0;
      const y0 = t.y ?? 0;
      for (let y = 0; y < info.height && y0 + y < height; y++) {
        const w = Math.min(info.width, width - x0);
        data.copy(canvas, ((y0 + y) * width + x0) * 4, y * info.width * 4, (y * info.width + w) * 4);
      }
    }
  }
  return canvas;
}
