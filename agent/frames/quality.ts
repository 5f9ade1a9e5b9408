/**
 * The internal quality rule of the capture loop: when a frame's capture + encode takes longer than
 * the frame interval, step quality down (to a floor); after a run of frames with plenty of headroom,
 * step it back up towards the caller's target, slowly, so it does not oscillate.
 */
export interface QualityGovernor {
  /** Quality to use for the next frame. */
  readonly current: number;
  readonly target: number;
  /** Caller's wish (e.g. lowered when viewers fall behind); applies at once. */
  setTarget(q: number): void;
  /** Feeds one frame's work time against the interval. */
  observe(workMs: number, intervalMs: number): void;
}

const QUALITY_FLOOR = 20;
const STEP_DOWN = 10;
const STEP_UP = 5;
/** Consecutive frames under half the interval before quality goes up one step. */
const HEADROOM_FRAMES = 15;

const clamp = (q: number, lo: number) => Math.max(lo, Math.min(100, Math.round(q)));

/** A governor starting at `target`. */
export function qualityGovernor(target: number, floor = QUALITY_FLOOR): QualityGovernor {
  let t = clamp(target, 1);
  let cur = t;
  let easy = 0;
  return {
    get current() {
      return cur;
    },
    get target() {
      return t;
    },
    setTarget(q) {
      t = clamp(q, 1);
      cur = t;
      easy = 0;
    },
    observe(workMs, intervalMs) {
      if (workMs > intervalMs) {
        cur = Math.min(cur, Math.max(Math.min(floor, t), cur - STEP_DOWN));
        easy = 0;
      } else if (workMs < intervalMs / 2 && cur < t) {
        if (++easy >= HEADROOM_FRAMES) {
          cur = Math.min(t, cur + STEP_UP);
          easy = 0;
        }
      } else {
        easy = 0;
      }
    },
  };
}
