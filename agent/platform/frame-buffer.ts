/**
 * The buffer a grabbed frame's pixels go into: the capture loop offers a frame it no longer reads
 * (`recycle`), so a steady stream allocates nothing. A fresh 8 MB buffer per 1080p grab is memory
 * only a GC frees, and at 30 grabs/s it forced full collections that made the agent miss frames.
 */
import type { RawFrame } from './port.js';

/** Whether two byte ranges overlap in memory (Buffers below 4 KiB share pooled ArrayBuffers). */
export function sharesMemory(a: Uint8Array, b: Uint8Array): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/**
 * `recycle`'s buffer when it holds exactly `bytes` and is none of `keep`'s memory (a frame still
 * read: the base a delta is applied to, a frame handed out), else undefined.
 */
export function recycledData(recycle: RawFrame | undefined, bytes: number, ...keep: (Uint8Array | undefined)[]): Uint8Array | undefined {
  if (!recycle || recycle.data.byteLength !== bytes) return undefined;
  return keep.some((k) => k !== undefined && sharesMemory(recycle.data, k)) ? undefined : recycle.data;
}

/** `recycledData`, else a new buffer (allocated once per size change). */
export function frameBuffer(recycle: RawFrame | undefined, bytes: number, ...keep: (Uint8Array | undefined)[]): Uint8Array {
  return recycledData(recycle, bytes, ...keep) ?? Buffer.allocUnsafe(bytes);
}
