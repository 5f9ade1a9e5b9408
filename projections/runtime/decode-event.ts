/** Turns a JetStream message into a DecodedEvent, or says why it cannot be one. */
import { decode } from '../../proto/codec.js';
import { ErrorCode, type Result, err, ok } from '../../proto/errors.js';
import { type ParsedSubject, parseSubject, payloadsFor } from '../../proto/subjects.js';
import { eventTimeMs } from '../../proto/event-time.js';
import type { DecodedEvent } from './types.js';

// A stream holds few distinct subjects (kinds x agents) and each parse is a split plus regexes:
// parse each once. Bounded so a flood of distinct subjects cannot grow it without limit.
const parsedSubjects = new Map<string, Result<ParsedSubject>>();
const MAX_CACHED_SUBJECTS = 50_000;

function parseCached(subject: string): Result<ParsedSubject> {
  let p = parsedSubjects.get(subject);
  if (!p) {
    if (parsedSubjects.size >= MAX_CACHED_SUBJECTS) parsedSubjects.clear();
    p = parseSubject(subject);
    parsedSubjects.set(subject, p);
  }
  return p;
}

/**
 * Decodes and checks the payload against its subject (codec.decode's rule, with the parse cached);
 * never throws. `streamMs` is the stream's timestamp of the message: every live and replay path
 * passes it (stored times are bounded by it, see event-time.ts).
 */
export function decodeEvent(subject: string, seq: number, data: Uint8Array, streamMs?: number): Result<DecodedEvent> {
  const parsed = parseCached(subject);
  if (!parsed.ok) return parsed;
  const msg = decode(data);
  if (!msg.ok) return msg;
  const p = parsed.value;
  if (!payloadsFor(p).includes(msg.value.payload)) return err(ErrorCode.MALFORMED_MESSAGE, `payload ${msg.value.payload} does not belong on ${subject}`);
  if ('agentId' in p && msg.value.meta.agentId !== p.agentId) {
    return err(ErrorCode.MALFORMED_MESSAGE, `meta.agent_id "${msg.value.meta.agentId}" does not match subject agent "${p.agentId}"`);
  }
  const atMs = eventTimeMs(p, Number(msg.value.meta.atMs ?? 0), streamMs);
  return ok({ seq, subject, parsed: p, msg: msg.value, atMs, ...(streamMs === undefined ? {} : { streamMs }), data });
}

// Every projection of a process has its own consumer on the same stream, so each event arrives
// once per projection: decode it once. Keyed by stream sequence and checked against the bytes (a
// test may recreate a stream, reusing sequences); the decoded event is shared read-only. A ring of
// recent sequences is enough, since the consumers of one process move through the stream together.
const RECENT = 4096;
const recent: Array<{ seq: number; subject: string; data: Buffer; r: Result<DecodedEvent> } | undefined> = new Array(RECENT);

/**
 * decodeEvent for a delivered message, shared between the projections of this process. `data` may be
 * a view into the connection's read buffer: it is copied only when decoded, not to pin that buffer.
 */
export function decodeDelivered(subject: string, seq: number, data: Uint8Array, streamMs: number): Result<DecodedEvent> {
  const slot = seq % RECENT;
  const hit = recent[slot];
  if (hit && hit.seq === seq && hit.subject === subject && hit.data.equals(data)) return hit.r;
  const copy = Buffer.from(data);
  const r = decodeEvent(subject, seq, copy, streamMs);
  recent[slot] = { seq, subject, data: copy, r };
  return r;
}

/**
 * A JetStream timestamp (ns since epoch) in whole ms, exactly: from the bigint (a float of ~1.8e18 ns
 * is off by up to 256 ns, which could move a stored time across a ms and break replay's hashes).
 */
export function streamTimeMs(nanos: bigint): number {
  return Number(nanos / 1_000_000n);
}
