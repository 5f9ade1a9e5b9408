/** Encoding and checked decoding of the `Message` envelope. Decoding never throws. */
import $protobuf from 'protobufjs/minimal.js';
import { guruconnect } from './generated/guruconnect.js';
import { ErrorCode, type Result, err, ok } from './errors.js';
import { newId } from './ids.js';
import { type PayloadCase, parseSubject, payloadsFor } from './subjects.js';

export const pb = guruconnect;
export type Message = guruconnect.Message;
export type MessageInit = guruconnect.Message.$Properties;

/** Our own headers (the `Nats-` prefix is reserved for the server). */
export const Headers = {
  eventType: 'Gc-Event-Type',
  correlationId: 'Gc-Correlation-Id',
  /** On a stored command: the gateway asks for stamps; on its answers: the agent's stamps (timing.ts). */
  timing: 'Gc-Timing',
  msgId: 'Nats-Msg-Id',
} as const;

/** Largest message we accept on any subject; frames are split into tiles well below it. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

// protobufjs writes a string shorter than 40 units with its own UTF-8 writer, which encodes a lone
// UTF-16 surrogate as its three WTF-8 bytes; its decoder (strict for proto3 strings) then refuses the
// whole message. Windows hands the agent UTF-16 that may hold one (a process's command line, an RDP
// client's name), so one such string lost the entire process or session list. Written as U+FFFD
// instead, as Node's Buffer writes longer strings: also three bytes, so lengths measured before hold.
type WellFormable = string & { isWellFormed(): boolean; toWellFormed(): string };
const utf8 = $protobuf.util.utf8;
const writeUtf8 = utf8.write;
utf8.write = (s: string, buffer: Uint8Array, offset: number): number => writeUtf8((s as WellFormable).isWellFormed() ? s : (s as WellFormable).toWellFormed(), buffer, offset);

// Its strict reader (every proto3 string) builds a string under 64 bytes by appending one to eight
// characters at a time: a chain of concatenations that a decoded message keeps until the string is
// flattened, 1.5 KB per heartbeat and 7 µs to decode one (1.2 KB and 5 µs read as below, measured
// with the bench's status mix). An all-ASCII run is one flat Latin-1 slice; anything else goes to
// the same fatal TextDecoder protobufjs falls back to, so what is refused stays refused.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const latin1Slice = Buffer.prototype.latin1Slice as (this: Uint8Array, start: number, end: number) => string;
const readStrict = utf8.readStrict;
utf8.readStrict = (buffer: Uint8Array, start: number, end: number): string => {
  if (end - start >= 64) return readStrict(buffer, start, end); // its TextDecoder already, flat
  for (let i = start; i < end; i++) if (buffer[i]! >= 0x80) return strictUtf8.decode(buffer.subarray(start, end));
  return latin1Slice.call(buffer, start, end);
};

/** A decoded message whose payload case is known and non-empty. */
export type Decoded = Message & { payload: PayloadCase; meta: guruconnect.Meta };

/** Builds a Message with fresh meta (id, time) unless given. */
export function message(payload: Omit<MessageInit, 'meta'>, meta: guruconnect.Meta.$Properties = {}): Message {
  return pb.Message.create({ ...payload, meta: { id: newId(), atMs: Date.now(), ...meta } });
}

export function encode(msg: Message | MessageInit): Uint8Array {
  return pb.Message.encode(msg).finish();
}

/** Decodes bytes; with `subject`, also checks the payload belongs on that subject and the agent matches. */
export function decode(bytes: Uint8Array, subject?: string): Result<Decoded> {
  if (bytes.byteLength > MAX_MESSAGE_BYTES) {
    return err(ErrorCode.PAYLOAD_TOO_LARGE, `message of ${bytes.byteLength} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  }
  let msg: Message;
  try {
    msg = pb.Message.decode(bytes);
  } catch (e) {
    return err(ErrorCode.MALFORMED_MESSAGE, `not a guruconnect.Message: ${(e as Error).message}`);
  }
  const payload = msg.payload as PayloadCase | undefined;
  if (!payload) return err(ErrorCode.MALFORMED_MESSAGE, 'message has no payload');
  if (!msg.meta?.id) return err(ErrorCode.MALFORMED_MESSAGE, 'message has no meta.id');
  if (subject !== undefined) {
    const parsed = parseSubject(subject);
    if (!parsed.ok) return parsed;
    if (!payloadsFor(parsed.value).includes(payload)) {
      return err(ErrorCode.MALFORMED_MESSAGE, `payload ${payload} does not belong on ${subject}`);
    }
    const p = parsed.value;
    if ('agentId' in p && msg.meta.agentId !== p.agentId) {
      return err(ErrorCode.MALFORMED_MESSAGE, `meta.agent_id "${msg.meta.agentId}" does not match subject agent "${p.agentId}"`);
    }
  }
  return ok(msg as Decoded);
}
