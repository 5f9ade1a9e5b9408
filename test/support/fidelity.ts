/** How closely a painted RGBA image matches a grabbed BGRX frame: the largest channel difference and the PSNR. */
import type { RawFrame } from '../../agent/platform/port.js';

export interface Fidelity {
  /** Largest absolute difference of one colour channel of one pixel (0..255). */
  maxDiff: number;
  /** Peak signal-to-noise ratio over every colour channel of the whole image, dB (Infinity when equal). */
  psnr: number;
}

/** Compares `frame` (BGRX, any stride) with `rgba` (tightly packed, same size). */
export function fidelity(frame: RawFrame, rgba: Uint8Array): Fidelity {
  let maxDiff = 0;
  let sq = 0;
  for (let y = 0; y < frame.height; y++) {
    for (let x = 0; x < frame.width; x++) {
      const s = y * frame.stride + x * 4;
      const d = (y * frame.width + x) * 4;
      // BGRX against RGBA.
      for (const [a, b] of [
        [frame.data[s + 2]!, rgba[d]!],
        [frame.data[s + 1]!, rgba[d + 1]!],
        [frame.data[s]!, rgba[d + 2]!],
      ] as const) {
        const diff = Math.abs(a - b);
        if (diff > maxDiff) maxDiff = diff;
        sq += diff * diff;
      }
    }
  }
  const mse = sq / (frame.width * frame.height * 3);
  return { maxDiff, psnr: mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / mse) };
}
