/**
 * Copying captured pixels out of memory the capture owns (a DIB section, a mapped texture) into a
 * frame the caller keeps, without a fresh 8 MB buffer per 1080p grab: the caller's recycled frame
 * receives the pixels when its size fits. Pure: the source is reached through a `CopyFrom`, which
 * win32-api.ts makes for native memory (RtlMoveMemory) and tests make for a Buffer.
 */
import { ErrorCode, type Result, err, ok } from '../../../proto/errors.js';
import { frameBuffer } from '../frame-buffer.js';
import type { RawFrame } from '../port.js';

/** More pixels than any screen has (16384 x 16384, the D3D11 texture limit): a bad size, not a frame. */
const MAX_PIXELS = 16384 * 16384;

/** Copies `len` bytes from the source at `srcOffset` into `dst` at `dstOffset`. */
export type CopyFrom = (dst: Uint8Array, dstOffset: number, srcOffset: number, len: number) => void;

/**
 * `height` rows of `width` BGRX pixels, `pitch` bytes apart at the source (pitch >= width * 4: a
 * mapped texture pads its rows), packed into a frame: into `recycle`'s buffer when it fits. The
 * frame is always a new object, so callers comparing frames by identity see it as new.
 */
export function packRows(copy: CopyFrom, pitch: number, width: number, height: number, recycle?: RawFrame): Result<RawFrame> {
  const row = width * 4;
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width <= 0 || height <= 0 || width * height > MAX_PIXELS) {
    return err(ErrorCode.PLATFORM_ERROR, `the capture reports a ${width}x${height} image`);
  }
  if (!Number.isSafeInteger(pitch) || pitch < row) return err(ErrorCode.PLATFORM_ERROR, `the capture reports a row pitch of ${pitch} bytes for rows of ${row}`);
  const data = frameBuffer(recycle, row * height);
  if (pitch === row) copy(data, 0, 0, row * height);
  else for (let y = 0; y < height; y++) copy(data, y * row, y * pitch, row);
  return ok({ width, height, stride: row, data });
}
