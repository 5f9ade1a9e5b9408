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
  /** The rate the link delivers to the page, bytes per second: the highest delivery-rate sample of the last two seconds (0 before any ack). */
  readonly deliveredPerSec: number;
  /** The shortest send-to-ack time seen lately: the link's round trip plus a small frame's transit (0 before any ack). */
  readonly minRttMs: number;
  /** Frames sent and not yet acknowledged. */
  readonly inFlightFrames: number;
  /** The page has acknowledged frames: the rates above mean something (an older page never does). */
  readonly acknowledging: boolean;
  /** Bytes in flight beyond what the link's round trip holds at its delivery rate: a standing queue. */
  readonly queuedBytes: number;
}

/** The least budget: about 200 ms of a 5 Mbit/s link, room for one frame more while the last one is acknowledged. */
export const MIN_IN_FLIGHT_BYTES = 128 * 1024;
/**
 * Beyond the link's own round trip (the bytes on the wire), what may wait: this long of the delivery
 * rate. Long enough for the deltas that pile up behind a keyframe in transit at a pace sized to the
 * link (stream-pace.ts), so a keyframe does not cost the next one; a standing queue is the pace's to
 * remove, this is the relay's limit when it does not.
 */
export const IN_FLIGHT_MS = 250;
/**
 * Frames remembered in flight at most. A page that never acknowledges (an older dashboard, or a
 * hostile one) would otherwise have every frame's size kept for as long as it watches; past this
 * many the oldest are forgotten, as if acknowledged (not counted into the delivery rate). An
 * acknowledging page is congested long before: 4096 frames are minutes of a slowed stream.
 */
export const MAX_FRAMES_IN_FLIGHT = 4096;
/** The link's rate is the highest sample over this window. */
const RATE_WINDOW_MS = 2000;
/** The page's intake is what it acknowledged over this window. */
const INTAKE_WINDOW_MS = 1000;
/** The round trip is the least send-to-ack time over about this long (a route or a link may change). */
const RTT_WINDOW_MS = 10_000;

/**
 * A tracker allowing max(`min`, intake x (round trip + `ms`)) bytes behind the frame on the wire,
 * where the intake is what the page acknowledged over the last second (or since its first frame): the bytes the round trip
 * holds plus a bounded queue, growing as far as the link and the page keep up, never further. (Not
 * the link's rate: a page on loopback takes a frame in a millisecond and then paints for thirty, and
 * its budget must follow what it takes in a second, not what it took in that millisecond.)
 */
export function frameFlow(min = MIN_IN_FLIGHT_BYTES, ms = IN_FLIGHT_MS, now: () => number = Date.now): FrameFlow {
  /**
   * Frames in flight, oldest first (from `head`). Each keeps the bytes acknowledged in all, and when
   * the last of them was, as it was sent: its delivery-rate sample runs from there (as TCP's does),
   * so the bytes already on the wire when it was sent are not counted as delivered in its own,
   * shorter, time.
   */
  let flight: { size: number; sentAt: number; deliveredAtSend: number; deliveredTimeAtSend: number }[] = [];
  let head = 0;
  let bytes = 0;
  let delivered = 0;
  let deliveredTime: number | undefined;
  let acking = false;
  /**
   * Delivery-rate samples, oldest first: per acknowledged frame, the bytes acknowledged from its send
   * to its ack over that time. Their maximum is the link's rate; a plain average of what was
   * acknowledged would understate it whenever the relay had less to send (a quiet screen, or the
   * wait for a keyframe after a drop).
   */
  const samples: { at: number; rate: number }[] = [];
  /** Acknowledged bytes per time, oldest first, for the intake. */
  const acks: { at: number; bytes: number }[] = [];
  let ackedInWindow = 0;
  /** When the first frame went out: before that the page had nothing to take in. */
  let firstSentAt: number | undefined;
  /**
   * Bytes acknowledged per second over the window, or over the time since the first frame went out
   * when that is shorter (but never under the time the budget covers, so the budget is then at most
   * what the page has taken in so far). Over a whole second, a page 200 ms into its first keyframe
   * looked as if it took in a fifth of what it did: traced on the viewer bench (scrolling text,
   * loopback), two or three 100 KB deltas that a page busy with its first paint acknowledged 40-70 ms
   * late were over that budget, one was dropped, and the stream was halved as "behind".
   */
  const intake = () => {
    const t = now();
    while (acks.length && acks[0]!.at < t - INTAKE_WINDOW_MS) ackedInWindow -= acks.shift()!.bytes;
    const span = Math.min(INTAKE_WINDOW_MS, Math.max(minRtt() + ms, t - (firstSentAt ?? t)));
    return (ackedInWindow * 1000) / span;
  };
  /** The least send-to-ack time of the current and the previous RTT window (a windowed minimum). */
  let rtt = { cur: Number.POSITIVE_INFINITY, prev: Number.POSITIVE_INFINITY, since: now() };
  const rate = () => {
    const t = now();
    while (samples.length && samples[0]!.at < t - RATE_WINDOW_MS) samples.shift();
    let r = 0;
    for (const x of samples) if (x.rate > r) r = x.rate;
    return r;
  };
  const minRtt = () => {
    const m = Math.min(rtt.cur, rtt.prev);
    return Number.isFinite(m) ? m : 0;
  };
  const budget = () => Math.max(min, (intake() * (minRtt() + ms)) / 1000);
  /** Drops the settled or forgotten head of `flight` now and then (amortised: never per frame). */
  const compact = () => {
    if (head > 1024) {
      flight = flight.slice(head);
      head = 0;
    }
  };
  return {
    sent(n) {
      const t = now();
      firstSentAt ??= t;
      // Nothing in flight: a new flight starts now (the idle time before it is not the link's).
      if (flight.length === head) deliveredTime = t;
      flight.push({ size: n, sentAt: t, deliveredAtSend: delivered, deliveredTimeAtSend: deliveredTime ?? t });
      bytes += n;
      if (flight.length - head > MAX_FRAMES_IN_FLIGHT) bytes -= flight[head++]!.size;
      compact();
    },
    acked(frames) {
      acking = true;
      const t = now();
      let settled = 0;
      // More acks than frames sent (a confused or hostile page) settle what was sent, nothing more.
      for (let i = 0; i < frames && head < flight.length; i++) {
        const f = flight[head++]!;
        settled += f.size;
        delivered += f.size;
        const took = Math.max(1, t - f.sentAt);
        const interval = Math.max(took, t - f.deliveredTimeAtSend);
        samples.push({ at: t, rate: ((delivered - f.deliveredAtSend) * 1000) / interval });
        if (t - rtt.since > RTT_WINDOW_MS) rtt = { cur: Number.POSITIVE_INFINITY, prev: rtt.cur, since: t };
        if (took < rtt.cur) rtt.cur = took;
      }
      if (samples.length > 4096) samples.splice(0, samples.length - 4096);
      bytes -= settled;
      if (settled) {
        deliveredTime = t;
        acks.push({ at: t, bytes: settled });
        ackedInWindow += settled;
      }
      compact();
    },
    get congested() {
      // What waits behind the frame on the wire is judged, not that frame: a keyframe larger than the
      // budget would otherwise cost the deltas behind it, and every dropped delta costs another keyframe.
      return acking && flight.length - head >= 2 && bytes - flight[head]!.size > budget();
    },
    get inFlightBytes() {
      return bytes;
    },
    get deliveredPerSec() {
      return rate();
    },
    get inFlightFrames() {
      return flight.length - head;
    },
    get minRttMs() {
      return minRtt();
    },
    get acknowledging() {
      return acking;
    },
    get queuedBytes() {
      return Math.max(0, bytes - (rate() * minRtt()) / 1000);
    },
  };
}
