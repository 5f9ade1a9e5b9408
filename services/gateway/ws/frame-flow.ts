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
  /** More than the budget is in flight; false until the page's first ack (a page that never acks is not judged). */
  readonly congested: boolean;
  readonly inFlightBytes: number;
}

/** About 200 ms of a 5 Mbit/s link: room for one frame more while the last one is acknowledged. */
export const MAX_IN_FLIGHT_BYTES = 128 * 1024;

/** A tracker with `budget` bytes in flight at most. */
export function frameFlow(budget = MAX_IN_FLIGHT_BYTES): FrameFlow {
  let sizes: number[] = [];
  let head = 0;
  let bytes = 0;
  let acking = false;
  return {
    sent(n) {
      sizes.push(n);
      bytes += n;
    },
    acked(frames) {
      acking = true;
      // More acks than frames sent (a confused or hostile page) settle what was sent, nothing more.
      for (let i = 0; i < frames && head < sizes.length; i++) bytes -= sizes[head++]!;
      if (head > 1024) {
        sizes = sizes.slice(head);
        head = 0;
      }
    },
    get congested() {
      return acking && bytes > budget;
    },
    get inFlightBytes() {
      return bytes;
    },
  };
}
