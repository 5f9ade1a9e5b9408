/** Turns a JetStream message into a DecodedEvent, or says why it cannot be one. */
import type { JsMsg } from '@nats-io/jetstream';
import { decode } from '../../proto/codec.js';
import { ErrorCode, type Result, err, ok } from '../../proto/errors.js';
import { type ParsedSubject, parseSubject, payloadsFor } from '../../proto/subjects.js';
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

/** Decodes and checks the payload against its subject (codec.decode's rule, with the parse cached); never throws. */
export function decodeEvent(subject: string, seq: number, data: Uint8Array): Result<DecodedEvent> {
  const parsed = parseCached(subject);
  if (!parsed.ok) return parsed;
  const msg = decode(data);
  if (!msg.ok) return msg;
  const p = parsed.value;
  if (!payloadsFor(p).includes(msg.value.payload)) return err(ErrorCode.MALFORMED_MESSAGE, `payload ${msg.value.payload} does not belong on ${subject}`);
  if ('agentId' in p && msg.value.meta.agentId !== p.agentId) {
    return err(ErrorCode.MALFORMED_MESSAGE, `meta.agent_id "${msg.value.meta.agentId}" does not match subject agent "${p.agentId}"`);
  }
  return ok({ seq, subject, parsed: p, msg: msg.value, atMs: Number(msg.value.meta.atMs ?? 0) });
}

/** decodeEvent for a JsMsg. */
export function decodeJsMsg(m: JsMsg): Result<DecodedEvent> {
  return decodeEvent(m.subject, m.seq, m.data);
}
