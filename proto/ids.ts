/** Branded ids and the rule that keeps an id safe inside a NATS subject. */
import { z } from 'zod';
import { ErrorCode, type Result, err, ok } from './errors.js';

declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

export type AgentId = Brand<string, 'AgentId'>;

export const MAX_ID_LENGTH = 64;
// Subject tokens are split on '.', and '*' / '>' are wildcards; whitespace and control characters
// end or corrupt a protocol line. Anything else printable is allowed, but we keep ids to a
// conservative set so they also read well in URLs and file names.
const ID_PATTERN = /^[A-Za-z0-9_-]+$/;

/** Checks that `raw` can be one subject token; the error says which rule it broke. */
export function checkSubjectToken(raw: string, what = 'id'): Result<string> {
  if (raw.length === 0) return err(ErrorCode.INVALID_ID, `${what} is empty`);
  if (raw.length > MAX_ID_LENGTH) return err(ErrorCode.INVALID_ID, `${what} is longer than ${MAX_ID_LENGTH} characters`);
  if (/[.*>]/.test(raw)) return err(ErrorCode.INVALID_ID, `${what} "${raw}" contains a subject separator or wildcard (. * >)`);
  if (/\s/.test(raw)) return err(ErrorCode.INVALID_ID, `${what} contains whitespace`);
  if (!ID_PATTERN.test(raw)) return err(ErrorCode.INVALID_ID, `${what} "${raw}" may contain only letters, digits, '-' and '_'`);
  return ok(raw);
}

/** Parses an agent id (Result, never throws). */
export function parseAgentId(raw: string): Result<AgentId> {
  return checkSubjectToken(raw, 'agent id') as Result<AgentId>;
}

/** zod schema for agent ids in HTTP params and config. */
export const agentIdSchema = z
  .string()
  .superRefine((v, ctx) => {
    const r = checkSubjectToken(v, 'agent id');
    if (!r.ok) ctx.addIssue({ code: 'custom', message: r.error.message });
  })
  .transform((v) => v as AgentId);

/** A new random id for commands, events and correlation. */
export function newId(): string {
  return crypto.randomUUID();
}
