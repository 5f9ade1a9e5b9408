/**
 * The query of `GET /api/machines`: page size, keyset cursor, text filter and status, validated here
 * so that nothing hostile (a limit of 2^63-1, control characters, 100k-character filters, forged
 * cursors) reaches the database; each is refused with the 400 envelope, naming the field.
 */
import { z } from 'zod';
import { checkSubjectToken } from '../../../proto/ids.js';

/** Rows per page when the caller does not say; a caller that never pages still sees a small fleet whole. */
export const MACHINES_PAGE_DEFAULT = 100;
export const MACHINES_PAGE_MAX = 500;
/** Longest text filter: longer than any host name, user or agent id one would type. */
export const MACHINES_Q_MAX = 200;
/** A cursor carries a host name; Node refuses request heads over 16 KB before any route runs anyway. */
const CURSOR_MAX = 16_384;

/** Where the previous page ended, in the list's order (host name, then agent id). */
export interface MachinesCursor {
  hostname: string;
  agentId: string;
}

/** Opaque to clients: base64url of `[hostname, agentId]`. */
export function encodeMachinesCursor(c: MachinesCursor): string {
  return Buffer.from(JSON.stringify([c.hostname, c.agentId]), 'utf8').toString('base64url');
}

const cursorTupleSchema = z.tuple([z.string(), z.string()]);

/** The cursor back, or undefined when it is not one this server made (forged, truncated, garbage). */
export function decodeMachinesCursor(s: string): MachinesCursor | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const t = cursorTupleSchema.safeParse(parsed);
  if (!t.success || /\0/.test(t.data[0]) || !checkSubjectToken(t.data[1]).ok) return undefined;
  return { hostname: t.data[0], agentId: t.data[1] };
}

// C0 and C1 control characters (NUL included): nothing anyone types into a filter box.
const CONTROL = /\p{Cc}/u;
// A UTF-16 surrogate without its other half (the gateway's input guard refuses these first; kept
// here so the schema holds on its own).
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export const machineStatusValues = ['all', 'online', 'offline'] as const;

export const machinesQuerySchema = z.object({
  limit: z
    .string()
    .regex(/^[0-9]{1,3}$/, `limit is a whole number from 1 to ${MACHINES_PAGE_MAX}`)
    .transform(Number)
    .pipe(z.number().int().min(1, `limit is a whole number from 1 to ${MACHINES_PAGE_MAX}`).max(MACHINES_PAGE_MAX, `limit is a whole number from 1 to ${MACHINES_PAGE_MAX}`))
    .optional()
    .describe(`Rows per page, 1-${MACHINES_PAGE_MAX} (default ${MACHINES_PAGE_DEFAULT})`),
  cursor: z
    .string()
    .max(CURSOR_MAX, 'cursor is not one this server gave out')
    .regex(/^[A-Za-z0-9_-]+$/, 'cursor is not one this server gave out')
    .transform((s, ctx) => {
      const c = decodeMachinesCursor(s);
      if (!c) ctx.addIssue({ code: 'custom', message: 'cursor is not one this server gave out; use next_cursor from the previous page' });
      return c ?? z.NEVER;
    })
    .optional()
    .describe('next_cursor of the previous page'),
  q: z
    .string()
    .max(MACHINES_Q_MAX, `q is at most ${MACHINES_Q_MAX} characters`)
    .refine((s) => !CONTROL.test(s), 'q contains a control character')
    .refine((s) => !LONE_SURROGATE.test(s), 'q contains a lone UTF-16 surrogate')
    .optional()
    .describe('Case-insensitive text in the host name, agent id, OS or a logged-on user'),
  status: z.enum(machineStatusValues).default('all').describe('online, offline or all (default)'),
});
export type MachinesQuery = z.infer<typeof machinesQuerySchema>;
