/**
 * A per-frame timing trace of the capture loop, for finding where a missed slot went: off unless
 * GC_CAPTURE_TRACE names a file. Each frame adds one JSON line (performance.now() times, ms): the
 * slot it was for, how late it started, the grab, the analysis (fingerprints, scroll, tile diff),
 * the encode and the publish, and the slots dropped before it; garbage collections while it ran are
 * lines of their own. Lines are kept in memory and written when the loop stops (no file I/O on the
 * frame path); the record is bounded, the oldest lines dropped first.
 */
import { appendFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';

export interface FrameTrace {
  /** The slot this frame was for. */
  due: number;
  started: number;
  grabMs: number;
  analyseMs: number;
  encodeMs: number;
  publishMs: number;
  /** Slots dropped before this frame started (frame-clock.ts). */
  skipped: number;
  rects: number;
  copies: number;
  /** Nothing changed: no frame sent. */
  unchanged?: boolean;
}

export interface CaptureTrace {
  frame(t: FrameTrace): void;
  /** Writes what was recorded and stops recording. */
  flush(): void;
}

/** About five minutes at 30 fps with its collections. */
const MAX_LINES = 20_000;

const off: CaptureTrace = { frame() {}, flush() {} };

/** The trace `GC_CAPTURE_TRACE` asks for (an empty or absent value: none). */
export function captureTrace(path = process.env.GC_CAPTURE_TRACE): CaptureTrace {
  if (!path) return off;
  const lines: string[] = [];
  const keep = (o: object) => {
    lines.push(JSON.stringify(o));
    if (lines.length > MAX_LINES) lines.splice(0, lines.length - MAX_LINES);
  };
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) keep({ gc: (e as { detail?: { kind?: number } }).detail?.kind ?? null, at: e.startTime, ms: e.duration });
  });
  gc.observe({ entryTypes: ['gc'] });
  let done = false;
  return {
    frame: (t) => keep(t),
    flush() {
      if (done) return;
      done = true;
      gc.disconnect();
      try {
        // performance.timeOrigin + a time above is its Date.now(): what the bench's capture times are in.
        appendFileSync(path, `${JSON.stringify({ timeOrigin: performance.timeOrigin, pid: process.pid })}\n${lines.map((l) => `${l}\n`).join('')}`);
      } catch {
        // A diagnostic: an unwritable path costs the trace, never the capture.
      }
    },
  };
}
