/**
 * Frames in flight to one browser: sent by the gateway, not yet acknowledged by the page. The socket's
 * own buffer says nothing once bytes reach the kernel, and behind a slow link the kernel's send buffer
 * and the link's queue hold seconds of frames: a viewer there watches the past. The page acknowledges
 * every frame message it receives ({t:"ack"}); past a small budget of unacknowledged bytes the relay
 * drops frames instead of queueing them, and the viewer's pace comes down (stream-pace.ts).
 */
export interface FrameFlow {
  /** One frame message of `bytes` went to the socket. */
  sent(bytes: number): void;
  /** The page received `frames` more frame messages (oldest first). */
  acked(frames: number): void;
  /** More than the budget waits behind the oldest frame in flight; false until the page's first ack (a page that never acks is not judged). */
  readonly congested: boolean;
  readonly inFlightBytes: number;
}

/** The least budget: about 200 ms of a 5 Mbit/s link, room for one frame more while the last one is acknowledged. */
export const MIN_IN_FLIGHT_BYTES = 128 * 1024;
/** Above the least budget, what the page took in over this long: a fast link is not held to a slow link's budget. */
export const IN_FLIGHT_MS = 150;
/** The delivery rate is what was acknowledged over this window. */
const RATE_WINDOW_MS = 1000;
/**
 * Frames remembered in flight at most. A page that never acknowledges (an older dashboard, or a
 * hostile one) would otherwise have every frame's size kept for as long as it watches; past this
 * many the oldest are forgotten, as if acknowledged (not counted into the delivery rate). An
 * acknowledging page is congested long before: 4096 frames are minutes of a slowed stream.
 */
export const MAX_FRAMES_IN_FLIGHT = 4096;

/**
 * A tracker allowing max(`min`, delivery rate x `ms`) bytes in flight. The rate is measured from the
 * acknowledgements, so the budget grows as far as the link and the page keep up, and never further.
 */
export function frameFlow(min = MIN_IN_FLIGHT_BYTES, ms = IN_FLIGHT_MS, now: () => number = Date.now): FrameFlow {
  let sizes: number[] = [];
  let head = 0;
  let bytes = 0;
  let acking = false;
  /** Acknowledged bytes per time, oldest first, for the delivery rate. */
  const acks: { at: number; bytes: number }[] = [];
  let ackedInWindow = 0;
  const budget = () => {
    const t = now();
    while (acks.length && acks[0]!.at < t - RATE_WINDOW_MS) ackedInWindow -= acks.shift()!.bytes;
    return Math.max(min, (ackedInWindow * ms) / RATE_WINDOW_MS);
  };
  /** Drops the settled or forgotten head of `sizes` now and then (amortised: never per frame). */
  const compact = () => {
    if (head > 1024) {
      sizes = sizes.slice(head);
      head = 0;
    }
  };
  return {
    sent(n) {
      sizes.push(n);
      bytes += n;
      if (sizes.length - head > MAX_FRAMES_IN_FLIGHT) bytes -= sizes[head++]!;
      compact();
    },
    acked(frames) {
      acking = true;
      let settled = 0;
      // More acks than frames sent (a confused or hostile page) settle what was sent, nothing more.
      for (let i = 0; i < frames && head < sizes.length; i++) settled += sizes[head++]!;
      bytes -= settled;
      if (settled) {
        acks.push({ at: now(), bytes: settled });
        ackedInWindow += settled;
      }
      compact();
    },
    get congested() {
      // What waits behind the frame on the wire is judged, not that frame: a keyframe larger than the
      // budget would otherwise cost the deltas behind it, and every dropped delta costs another keyframe.
      return acking && sizes.length - head >= 2 && bytes - sizes[head]! > budget();
    },
    get inFlightBytes() {
      return bytes;
    },
  };
}
