/**
 * When the capture loop's next frame starts. Frames are due on a fixed grid (one slot every
 * interval), so the rate does not drift by however long each frame's work took. A frame whose work
 * ran past the next slot starts that slot at once, late, rather than dropping it: under a busy CPU a
 * frame that took a little more than an interval would otherwise cost a whole frame, and a stream
 * whose work averages under the interval would still lose frames (29.7 fps of 30 on the viewer bench).
 * Only slots that passed entirely while the work ran (a later one is already due) are dropped, never
 * caught up: the loop still works on one frame at a time and each frame is grabbed when it starts.
 */
export interface FrameSlot {
  /** The slot the next frame is for (performance.now() time): in the future, or already come (start at once). */
  at: number;
  /** Slots dropped because a later one was already due. */
  skipped: number;
}

/**
 * The next frame's slot: `due` is the slot after the one just worked, `now` when the work ended.
 * Not-a-number or non-positive intervals are treated as 1 ms (the caller clamps the rate anyway).
 */
export function nextSlot(due: number, now: number, intervalMs: number): FrameSlot {
  const interval = intervalMs > 0 ? intervalMs : 1;
  if (!(now > due)) return { at: due, skipped: 0 };
  // Whole intervals past `due`: those slots are gone; the latest one that has come starts now.
  const skipped = Math.floor((now - due) / interval);
  return { at: due + skipped * interval, skipped };
}
