/**
 * How fast and how sharp one viewer's stream should be, decided once per pace window from what the
 * link to its page carries. A link that carries less than the agent offers is a queue that grows,
 * and every frame the relay then drops costs a keyframe (the whole screen) that makes the next drop
 * likelier: the pace must come down to what the page acknowledges, at once and to the right level,
 * not by halving blindly and climbing back in slow steps into the same queue.
 *
 * Saturated (frames dropped for this viewer, or more offered than acknowledged) or hot (most of the
 * capacity offered): the frame rate is set so the agent's frames, at the size just measured, fill a
 * share of the capacity less the queue already waiting; below a smooth rate the quality comes down
 * instead (smaller frames), to a floor. Calm: one step up per
 * couple of windows, but never past that share of the rate last seen saturated, which itself creeps
 * up while calm so a link that frees is found again.
 */
export interface Pace {
  fps: number;
  quality: number;
}

/** One pace window as the gateway saw it. */
export interface PaceWindow {
  /** Frames were dropped for this viewer during the window (its socket, its budget, or its browser). */
  behind: boolean;
  /** What the agent published for the watched session during the window (forwarded or not). */
  offered: { frames: number; bytes: number };
  /** Bytes per second the link delivers to the page (frame-flow.ts); undefined for a page that does not acknowledge. */
  deliveredPerSec: number | undefined;
  /** Bytes waiting beyond what the link's round trip holds at the window's end (a standing queue), if known. */
  queuedBytes?: number;
  windowMs: number;
}

export interface PaceController {
  readonly current: Pace;
  /** The link's capacity as last measured saturated (bytes/s), if known. */
  readonly capacity: number | undefined;
  /** One observation window; returns the new pace when it changed. */
  observe(w: PaceWindow): Pace | undefined;
}

export const PACE_FLOOR: Pace = { fps: 2, quality: 20 };
/** The share of the delivery rate the stream is sized to: the rest absorbs keyframes and changing content without a queue. */
export const RATE_SHARE = 0.6;
/** Offering more than this share of the capacity is running hot: a keyframe or a busier screen then queues. */
export const HOT_SHARE = 0.8;
/** However long the queue to drain, the stream keeps at least this share of the capacity. */
const MIN_SHARE = 0.25;
/** A queue of this long at the delivery rate standing at a window's end: the link limits. */
const QUEUE_LIMITED_S = 0.1;
/** Offered over delivered beyond this ratio is a queue building, dropped frames or not. */
const OVERRUN = 1.25;
/** Below this frame rate, smaller frames (lower quality) are preferred to fewer. */
export const SMOOTH_FPS = 8;
/** Calm windows in a row before one step back up. */
const CALM_WINDOWS = 2;
/** Each calm step lets the remembered capacity grow this much (finds a link that freed). */
const CAPACITY_CREEP = 1.05;
const QUALITY_STEP_DOWN = 10;
const QUALITY_STEP_UP = 5;
/** Saturated windows ignored after a cut (the window the cut was decided in still had the old pace's frames in flight). */
const SETTLE_WINDOWS = 1;
/** A saturated window's rate replaces the capacity only when higher; otherwise the capacity decays this much towards it. */
const CAPACITY_DECAY = 0.8;
/** Without acknowledgements (an older page), or behind while the link never limited: halve, and climb back slowly (but see RESTORE_CALM_WINDOWS). */
const BLIND_CALM_WINDOWS = 5;
/**
 * After a blind cut, calm windows in a row that return the pace it cut from in one step. One drop
 * (the first keyframe, a GC pause, a busy tab) says little: climbing back 5 fps per 5 s left a fresh
 * view at half rate for 15 s. A drop soon after such a return says the old pace was too much.
 */
const RESTORE_CALM_WINDOWS = 2;
/** Windows after a return in which a drop counts against it: the slow climb then, and no return... */
const RESTORE_PROBATION_WINDOWS = 10;
/** ...until this many calm windows have passed (a page that was busy for a while gets the fast way back later). */
const RESTORE_BLOCKED_WINDOWS = 30;

/** A controller starting at (and never above) `max`. */
export function paceController(max: Pace, floor: Pace = PACE_FLOOR): PaceController {
  const lo = { fps: Math.min(floor.fps, max.fps), quality: Math.min(floor.quality, max.quality) };
  let cur = { ...max };
  let calm = 0;
  let capacity: number | undefined;
  /** Saturated windows still to be ignored after a cut: its frames are not the ones measured yet. */
  let settling = 0;
  const change = (next: Pace): Pace | undefined => {
    const n = { fps: Math.max(lo.fps, Math.min(max.fps, next.fps)), quality: Math.max(lo.quality, Math.min(max.quality, next.quality)) };
    if (n.fps === cur.fps && n.quality === cur.quality) return undefined;
    cur = n;
    return { ...cur };
  };

  /** Sizes the stream to `target` bytes a second, given frames of `frameBytes` at the current quality. */
  const fit = (target: number, frameBytes: number): Pace => {
    const fps = target / frameBytes;
    // Never the same pace again: saturated at this pace (a browser that cannot paint it, say) means less of it.
    const fewer = Math.min(Math.floor(cur.fps * 0.75), Math.floor(fps));
    if (fps >= Math.min(SMOOTH_FPS, cur.fps)) return { fps: Math.max(fewer, lo.fps), quality: cur.quality };
    // Frame size goes roughly with quality: trade quality for rate down to the floor, then frames.
    const quality = Math.max(lo.quality, Math.min(cur.quality - QUALITY_STEP_DOWN, Math.round((cur.quality * fps) / Math.min(SMOOTH_FPS, cur.fps))));
    return { fps: Math.max(lo.fps, Math.min(cur.fps, Math.floor((fps * cur.quality) / quality))), quality };
  };

  /** The pace a blind cut came from, returned to after a short calm unless returns are blocked. */
  let restoreTo: Pace | undefined;
  /** Windows left in which a drop proves the last return wrong. */
  let probation = 0;
  /** Calm windows left before a blind cut may be returned from in one step again. */
  let blocked = 0;
  const blind = (behind: boolean): Pace | undefined => {
    if (behind) {
      calm = 0;
      if (probation > 0) {
        probation = 0;
        blocked = RESTORE_BLOCKED_WINDOWS;
      }
      // A second cut before the return: not one drop but a page that keeps falling behind.
      restoreTo = blocked > 0 || restoreTo !== undefined ? undefined : { ...cur };
      return change({ fps: Math.floor(cur.fps / 2), quality: cur.quality - 15 });
    }
    if (probation > 0) probation--;
    if (blocked > 0) blocked--;
    ++calm;
    if (restoreTo !== undefined && calm >= RESTORE_CALM_WINDOWS) {
      const back = restoreTo;
      restoreTo = undefined;
      calm = 0;
      probation = RESTORE_PROBATION_WINDOWS;
      return change(back);
    }
    if (calm < BLIND_CALM_WINDOWS) return undefined;
    calm = 0;
    return change({ fps: cur.fps + 5, quality: cur.quality + QUALITY_STEP_UP });
  };

  return {
    get current() {
      return { ...cur };
    },
    get capacity() {
      return capacity;
    },
    observe(w) {
      const rate = w.deliveredPerSec;
      // No rate (a page that does not acknowledge), or none that means anything: pace blind.
      if (rate === undefined || !Number.isFinite(rate) || rate < 0) return blind(w.behind);
      const queued = Number.isFinite(w.queuedBytes) ? Math.max(0, w.queuedBytes!) : 0;
      const seconds = Math.max(w.windowMs, 1) / 1000;
      const offeredPerSec = w.offered.bytes / seconds;
      // The link is what limits: more offered than it delivers, or a queue standing behind it. Only
      // then is the delivery rate the link's; a small stream's acks measure the stream, and a drop
      // without either (a browser that could not paint, one burst) says nothing about the link.
      const linkLimited = offeredPerSec > rate * OVERRUN || queued > rate * QUEUE_LIMITED_S;
      const saturated = w.behind || linkLimited;
      // A link keeps its rate while a cut takes effect (the agent hears of it, the queue drains), and
      // the relay sends nothing while it waits for a keyframe: the rate of such a window understates
      // the link, so the capacity only decays towards it.
      if (linkLimited) capacity = Math.max(rate, (capacity ?? 0) * CAPACITY_DECAY);
      // Nothing dropped, but the stream takes most of the link (content whose bytes do not shrink with
      // the frame rate, as scrolling text, gets here from a step that looked affordable).
      const hot = !saturated && capacity !== undefined && offeredPerSec > HOT_SHARE * capacity;
      if (saturated || hot) {
        calm = 0;
        if (settling > 0) {
          settling--;
          return undefined;
        }
        // Nothing acknowledged or nothing offered in the window: no size to fit, only "less".
        if (rate <= 0 || w.offered.frames <= 0) return saturated ? blind(true) : undefined;
        // Behind with no link capacity known (most often a browser that cannot decode and paint this
        // much, on a fast link): nothing to size to, as without acknowledgements.
        if (capacity === undefined) return blind(true);
        settling = SETTLE_WINDOWS;
        // The link limits: what it carries is the measure now, not the pace before a blind cut.
        restoreTo = undefined;
        // A share of the capacity, less what already waits, so a standing queue drains within a second.
        const target = Math.max(MIN_SHARE * capacity, RATE_SHARE * capacity - queued);
        return change(fit(target, w.offered.bytes / w.offered.frames));
      }
      settling = 0;
      // No capacity ever measured: the link never limited, so what slowed this viewer (if anything)
      // was its browser; it climbs back as slowly as without acknowledgements, or it oscillates.
      if (capacity === undefined) return blind(false);
      if (++calm < CALM_WINDOWS) return undefined;
      calm = 0;
      capacity = Math.max(capacity * CAPACITY_CREEP, rate);
      const up: Pace =
        cur.quality < max.quality && cur.fps >= Math.min(SMOOTH_FPS, max.fps)
          ? { fps: cur.fps, quality: cur.quality + QUALITY_STEP_UP }
          : { fps: Math.max(cur.fps + 1, Math.round(cur.fps * 1.25)), quality: cur.quality };
      // What the step would offer, frames scaling with the rate and (roughly) with quality.
      const grown = offeredPerSec * (up.fps / cur.fps) * (up.quality / cur.quality);
      if (grown > RATE_SHARE * capacity) return undefined;
      return change(up);
    },
  };
}
