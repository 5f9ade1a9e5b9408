/** Turns a JetStream message into a DecodedEvent, or says why it cannot be one. */
import type { JsMsg } from '@nats-io/jetstream';
import { decode } from '../../proto/codec.js';
import { type Result, ok } from '../../proto/errors.js';
import { parseSubject } from '../../proto/subjects.js';
import type { DecodedEvent } from './types.js';

/** Decodes and checks the payload against its subject; never throws. */
export function decodeEvent(subject: string, seq: number, data: Uint8Array): Result<DecodedEvent> {
  const parsed = parseSubject(subject);
  if (!parsed.ok) return parsed;
  const msg = decode(data, subject);
  if (!msg.ok) return msg;
  return ok({ seq, subject, parsed: parsed.value, msg: msg.value, atMs: Number(msg.value.meta.atMs ?? 0) });
}

/** decodeEvent for a JsMsg. */
export function decodeJsMsg(m: JsMsg): Result<DecodedEvent> {
  return decodeEvent(m.subject, m.seq, m.data);
}
