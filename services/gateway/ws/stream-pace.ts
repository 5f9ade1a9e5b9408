/**
 * How fast and how sharp one viewer's stream should be. The relay drops frames when the browser's
 * socket backs up, and the browser asks for a keyframe when it cannot paint fast enough; either means
 * this viewer is behind, so the agent is asked for fewer, smaller frames at once, and for more again
 * only after a calm spell (quick to back off, slow to recover, so it does not oscillate).
 */
export interface Pace {
  fps: number;
  quality: number;
}

export interface PaceController {
  readonly current: Pace;
  /** One observation window; returns the new pace when it changed. */
  observe(behind: boolean): Pace | undefined;
}

export const PACE_FLOOR: Pace = { fps: 5, quality: 30 };
/** Calm windows in a row before one step back up. */
const CALM_WINDOWS = 5;
const QUALITY_STEP_DOWN = 15;
const QUALITY_STEP_UP = 5;
const FPS_STEP_UP = 5;

/** A controller starting at (and never above) `max`. */
export function paceController(max: Pace, floor: Pace = PACE_FLOOR): PaceController {
  let cur = { ...max };
  let calm = 0;
  const change = (next: Pace): Pace | undefined => {
    if (next.fps === cur.fps && next.quality === cur.quality) return undefined;
    cur = next;
    return { ...cur };
  };
  return {
    get current() {
      return { ...cur };
    },
    observe(behind) {
      if (behind) {
        calm = 0;
        return change({
          fps: Math.max(Math.min(floor.fps, max.fps), Math.floor(cur.fps / 2)),
          quality: Math.max(Math.min(floor.quality, max.quality), cur.quality - QUALITY_STEP_DOWN),
        });
      }
      if (++calm < CALM_WINDOWS) return undefined;
      calm = 0;
      return change({ fps: Math.min(max.fps, cur.fps + FPS_STEP_UP), quality: Math.min(max.quality, cur.quality + QUALITY_STEP_UP) });
    },
  };
}
