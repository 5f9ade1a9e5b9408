/** Paints VideoFrame tiles onto an RGBA image the way the dashboard's canvas does, for fidelity figures. */
import sharp from 'sharp';
import type { VideoFrame } from '../../agent/frames/capture-loop.js';

/** An RGBA image of `width` x `height` with every frame's tiles drawn in order. */
export async function paintFrames(width: number, height: number, frames: readonly VideoFrame[]): Promise<Buffer> {
  const canvas = Buffer.alloc(width * height * 4);
  for (const f of frames) {
    for (const t of f.tiles ?? []) {
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
