/**
 * When the capture loop's next frame starts. Frames are due on a fixed grid (one slot every
 * interval), so the rate does not drift by however long each frame's work took.
 *
 * A frame whose work ran a little past the next slot (less than a quarter of an interval: the jitter
 * of a busy CPU) starts that slot at once, late, instead of dropping it: on the viewer bench, with
 * Chromium on the same two cores, the agent otherwise let 4 of 270 slots pass on scrolling text
 * (29.6 fps painted for a 30 fps goal).
 *
 * After a light frame (no keyframe, no refinement: a few tiles and scroll copies) the next one
 * catches up: it starts at once, for the latest slot that has come, and only the slots before that
 * one are dropped. A light frame that overran was held up by the machine, not by its own work: traced
 * on the viewer bench with other work on the two cores (GC_CAPTURE_TRACE), the missed slots of
 * scrolling text followed grabs of 20-95 ms and diffs of 10-74 ms whose usual time is 3 and 2 ms,
 * none of them a collection, and waiting for the next slot on top of such a stall lost one more.
 * After a heavy frame (a keyframe, a refinement of settled tiles at high quality) every slot it
 * overran is dropped, as before: starting the next one at once would double their bytes right when a
 * slow link can least take them (tried for every frame: the 5 Mbit/s square scene was halved to
 * 17.5 fps). Either way one frame is worked at a time, each grabbed when it starts: nothing queues.
 * Measured (viewer bench, scrolling text, runs alternated with the old clock on this shared machine):
 * the agent missed no slot in 9 of the 11 runs in which the gateway kept 30 fps (1 and 2 in the
 * others), against 4 of 12 with the old clock (up to 16 missed); the 5 Mbit/s square scene was
 * unchanged. The gateway halved the rate for a busy browser in 3 of its 14 runs and none of the old
 * clock's 12. Traced (GC_PACE_TRACE, 7 more runs, 3 cut): twice the gateway's flow budget dropped a
 * delta ~0.3 s after the first keyframe (two frames a catch-up published 16 ms apart, or four that
 * reached the gateway together, on a page 40-70 ms late with its acks), a budget that measured the
 * page's intake over a whole second it had not yet been sent frames for (frame-flow.ts: now over the
 * time since the first frame); once the page's own paint backlog, on a loaded machine. Left: before
 * the page has acknowledged its first keyframe, two text deltas behind it are over the least budget
 * (128 KiB) and one is dropped (2 of 3 later runs, the first keyframe 60 ms unacknowledged).
 */
export interface FrameSlot {
  /** The slot the next frame is for (performance.now() time): in the future, or already come (start at once). */
  at: number;
  /** Slots dropped. */
  skipped: number;
}

/** How late, in intervals, a slot may still be started after a heavy frame. */
export const LATE_START_GRACE = 0.25;

/**
 * The next frame's slot: `due` is the slot after the one just worked, `now` when the work ended,
 * `catchUp` whether that frame was light (see above). Not-a-number or non-positive intervals are
 * treated as 1 ms (the caller clamps the rate anyway).
 */
export function nextSlot(due: number, now: number, intervalMs: number, catchUp = false): FrameSlot {
  const interval = intervalMs > 0 ? intervalMs : 1;
  // Early, on time, or late by less than the grace (and a NaN clock): this slot, at once if it has come.
  if (!(now - due >= LATE_START_GRACE * interval)) return { at: due, skipped: 0 };
  // Caught up: the latest slot that has come, at once.
  const skipped = catchUp ? Math.floor((now - due) / interval) : Math.ceil((now - due) / interval);
  return { at: due + skipped * interval, skipped };
}
