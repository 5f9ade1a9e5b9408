/**
 * When the capture loop's next frame starts. Frames are due on a fixed grid (one slot every
 * interval), so the rate does not drift by however long each frame's work took.
 *
 * A frame whose work ran a little past the next slot (less than a quarter of an interval: the jitter
 * of a busy CPU) starts that slot at once, late, instead of dropping it: on the viewer bench, with
 * Chromium on the same two cores, the agent otherwise let 4 of 270 slots pass on scrolling text
 * (29.6 fps painted for a 30 fps goal). A frame that overran by more drops every slot it overran,
 * as before: such frames are the heavy ones (a keyframe, a refinement of settled tiles at high
 * quality), and starting the next one at once would double their bytes right when a slow link can
 * least take them (tried: the 5 Mbit/s square scene was halved to 17.5 fps). Slots are never caught
 * up: one frame is worked at a time and each is grabbed when it starts.
 */
export interface FrameSlot {
  /** The slot the next frame is for (performance.now() time): in the future, or already come (start at once). */
  at: number;
  /** Slots dropped. */
  skipped: number;
}

/** How late, in intervals, a slot may still be started. */
export const LATE_START_GRACE = 0.25;

/**
 * The next frame's slot: `due` is the slot after the one just worked, `now` when the work ended.
 * Not-a-number or non-positive intervals are treated as 1 ms (the caller clamps the rate anyway).
 */
export function nextSlot(due: number, now: number, intervalMs: number): FrameSlot {
  const interval = intervalMs > 0 ? intervalMs : 1;
  // Early, on time, or late by less than the grace (and a NaN clock): this slot, at once if it has come.
  if (!(now - due >= LATE_START_GRACE * interval)) return { at: due, skipped: 0 };
  const skipped = Math.ceil((now - due) / interval);
  return { at: due + skipped * interval, skipped };
}
