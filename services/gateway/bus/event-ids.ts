/**
 * Ids of gateway events that several gateways may record for the same fact (a command's failure, an
 * agent going offline). The stream drops a second message with the same `Nats-Msg-Id` within its
 * duplicate window, stream-wide and whoever published it: an id anyone can compute lets an agent
 * publish it first and so suppress the gateway's event. These ids are HMAC-SHA256 of the fact under a
 * key only gateways hold: the same fact gives the same id on every gateway sharing the key, and no
 * agent can compute it.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ErrorCode, type Result, err, ok } from '../../../proto/errors.js';

export interface EventIds {
  /** The gateway's command_failed event for `commandId`. */
  commandFailed(commandId: string): string;
  /** The watchdog's agent_offline event for the heartbeat silence that started at `lastSeenMs`. */
  agentOffline(agentId: string, lastSeenMs: number): string;
}

/** Fewer bytes than this is not a key worth trusting (32 random bytes, base64url, is 43 characters). */
export const MIN_KEY_BYTES = 32;

export function createEventIds(key: Uint8Array): EventIds {
  if (key.byteLength < MIN_KEY_BYTES) throw new Error(`event id key has ${key.byteLength} bytes; at least ${MIN_KEY_BYTES} are needed`);
  // Fields are joined with NUL, which no id contains, so ("a-b", "c") and ("a", "b-c") never meet.
  const derive = (kind: string, ...fields: string[]) =>
    `${kind}-${createHmac('sha256', key)
      .update([kind, ...fields].join('\0'))
      .digest('base64url')}`;
  return {
    commandFailed: (commandId) => derive('command_failed', commandId),
    agentOffline: (agentId, lastSeenMs) => derive('agent_offline', agentId, String(lastSeenMs)),
  };
}

/** A fresh key for `GC_EVENT_ID_KEY_FILE` (the launcher writes it once, 0600). */
export function newEventIdKey(): string {
  return `${randomBytes(MIN_KEY_BYTES).toString('base64url')}\n`;
}

/** Reads the key file: its trimmed text is the key; empty or short files are refused. */
export async function readEventIdKey(file: string): Promise<Result<Uint8Array>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    return err(ErrorCode.VALIDATION_FAILED, `cannot read the event id key file ${file}: ${(e as Error).message}`);
  }
  const key = new TextEncoder().encode(text.trim());
  if (key.byteLength < MIN_KEY_BYTES) return err(ErrorCode.VALIDATION_FAILED, `event id key file ${file} holds ${key.byteLength} bytes; write at least ${MIN_KEY_BYTES} random bytes`);
  return ok(key);
}

/**
 * The gateway's event ids: from the configured key file, or, without one, from a random key of this
 * process (safe, but two gateways then record the same fact twice), said once in the log.
 */
export async function loadEventIds(file: string | undefined, log: (m: string) => void): Promise<Result<EventIds>> {
  if (file) {
    const key = await readEventIdKey(file);
    return key.ok ? ok(createEventIds(key.value)) : key;
  }
  log('GC_EVENT_ID_KEY_FILE is not set: event ids use a random key of this process, so several gateways record the same command failure or agent going offline once each');
  return ok(createEventIds(randomBytes(MIN_KEY_BYTES)));
}

/** A per-process random key, for callers not given one (tests, a command client built alone). */
export function processEventIds(): EventIds {
  return createEventIds(randomBytes(MIN_KEY_BYTES));
}
