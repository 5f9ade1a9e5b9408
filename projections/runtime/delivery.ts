/**
 * Where a delivered JetStream message sits, read from its ack subject in one pass. nats.js splits
 * that subject once for `info`/`seq` and again, into a BigInt, for `timestampNanos`: about 7% of
 * the machines catch-up's CPU, and a dozen short strings per message for the scavenger (profiled
 * with test/bench/catch-up-profile.ts).
 */
import type { JsMsg } from '@nats-io/jetstream';
import { ErrorCode, type Result, err, ok } from '../../proto/errors.js';
import { streamTimeMs } from './decode-event.js';

export interface Delivery {
  streamSeq: number;
  deliverySeq: number;
  /** Messages the server still holds for this consumer. */
  pending: number;
  /** When the stream stored it, whole ms since epoch (exact: see parseDelivery). */
  streamMs: number;
}

const NOT_A_DELIVERY = err(ErrorCode.MALFORMED_MESSAGE, 'not a JetStream delivery');
/** Where the dots after `$JS.ACK.` are; only the first nine are ever read. */
const dots = new Array<number>(16).fill(0);

/** The decimal digits of s[from, to) as a number; -1 when empty, not all digits, or past 2^53 - 1. */
function digits(s: string, from: number, to: number): number {
  if (to <= from || to - from > 16) return -1;
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n <= Number.MAX_SAFE_INTEGER ? n : -1;
}

/**
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ns>.<pending>` (servers before 2.9) or
 * `$JS.ACK.<domain>.<account hash>.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ns>.<pending>[.<token>]`,
 * the shapes nats.js accepts; anything else is not a JetStream delivery. Read in place, without
 * splitting: this runs once per message. The ns timestamp becomes whole ms exactly, from its digits
 * (a float of ~1.8e18 ns is off by up to 256 ns, which could move a stored time across a ms and
 * break replay's hashes).
 */
export function parseDelivery(reply: string): Result<Delivery> {
  if (!reply.startsWith('$JS.ACK.')) return NOT_A_DELIVERY;
  // Dots after `$JS.ACK.`, kept in a scratch array rather than a fresh one, with no closure: this
  // runs per message, and under tsx every closure made here was also named (Object.defineProperty),
  // together about 3% of the catch-up's CPU.
  let n = 0;
  for (let i = reply.indexOf('.', 8); i !== -1; i = reply.indexOf('.', i + 1)) {
    if (n < dots.length) dots[n] = i;
    n++;
  }
  const tokens = n + 3;
  if (tokens !== 9 && tokens < 11) return NOT_A_DELIVERY;
  const at = tokens === 9 ? 2 : 4; // dots[at] ends <delivered>
  const len = reply.length;
  const streamSeq = digits(reply, dots[at]! + 1, dots[at + 1]!);
  const deliverySeq = digits(reply, dots[at + 1]! + 1, dots[at + 2]!);
  const nsFrom = dots[at + 2]! + 1;
  const nsTo = dots[at + 3]!;
  const streamMs = nsTo - nsFrom > 6 ? digits(reply, nsFrom, nsTo - 6) : 0;
  const sub = nsTo - nsFrom > 6 ? digits(reply, nsTo - 6, nsTo) : digits(reply, nsFrom, nsTo);
  const pending = digits(reply, dots[at + 3]! + 1, at + 4 < n ? dots[at + 4]! : len);
  if (streamSeq < 0 || deliverySeq < 0 || streamMs < 0 || sub < 0 || pending < 0) return NOT_A_DELIVERY;
  return ok({ streamSeq, deliverySeq, pending, streamMs });
}

/**
 * The delivery of `m`: from its ack subject when nats.js shows it (its JsMsg type does not declare
 * `reply`, its message class has it), else through nats.js's own getters, which agree (tested).
 */
export function deliveryOf(m: JsMsg): Result<Delivery> {
  const reply = (m as { reply?: unknown }).reply;
  if (typeof reply === 'string') return parseDelivery(reply);
  try {
    return ok({ streamSeq: m.info.streamSequence, deliverySeq: m.info.deliverySequence, pending: m.info.pending, streamMs: streamTimeMs(m.timestampNanos) });
  } catch (e) {
    return err(ErrorCode.MALFORMED_MESSAGE, (e as Error).message);
  }
}
