/**
 * The baseline of every live-view scene figure: whole frames grabbed and JPEG-encoded at one quality
 * back to back, on this machine, in the same run. It is the limit of sending whole frames (no diff),
 * which the tile pipeline is held against.
 */
import { encodeTiles, TileEncoding } from '../../agent/frames/encode.js';
import type { SessionDesktop } from '../../agent/platform/port.js';

export interface WholeFrames {
  fps: number;
  cpuMsPerFrame: number;
  bytesPerFrame: number;
  grabMs: number;
  quality: number;
}

/** Grabs and encodes whole frames of `desk` for `ms`; CPU is this process's, all threads. */
export async function wholeFrames(desk: SessionDesktop, ms: number, quality: number): Promise<WholeFrames> {
  let n = 0;
  let bytes = 0;
  let grabMs = 0;
  let last: Awaited<ReturnType<SessionDesktop['grab']>> | undefined;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    const g0 = performance.now();
    // Recycling the last frame's buffer, as the capture loop does: the baseline is the cheapest grab.
    const g = await desk.grab(last?.ok ? last.value : undefined);
    grabMs += performance.now() - g0;
    last = g;
    if (!g.ok) throw new Error(g.error.message);
    const [tile] = await encodeTiles(g.value, [{ x: 0, y: 0, width: g.value.width, height: g.value.height }], TileEncoding.TILE_JPEG, quality);
    bytes += tile?.data?.length ?? 0;
    n++;
  }
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { fps: n / secs, cpuMsPerFrame: (cpu.user + cpu.system) / 1000 / n, bytesPerFrame: bytes / n, grabMs: grabMs / n, quality };
}
