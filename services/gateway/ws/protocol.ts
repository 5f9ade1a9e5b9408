/** The viewer WebSocket protocol: JSON control messages (zod) plus binary frames (encoded Message). */
import { z } from 'zod';

const sessionId = z.number().int().min(0).max(0xffffffff);
const reqId = z.string().max(64).optional();
const termSize = z.number().int().min(1).max(1000);
/** Longest terminal.input text: a paste is sent in pieces of at most this many characters. */
export const MAX_TERMINAL_INPUT_CHARS = 4096;

export const clientMessageSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('watch'), session_id: sessionId.optional(), view_only: z.boolean().optional() }),
  z.object({ t: z.literal('switch'), session_id: sessionId, req: reqId }),
  z.object({
    t: z.literal('input'),
    session_id: sessionId,
    mouse: z.object({ x: z.number().int(), y: z.number().int(), buttons: z.number().int().min(0).max(7), wheel: z.number().int().optional() }).optional(),
    key: z.object({ key_code: z.number().int().min(0).max(0xffffffff).optional(), down: z.boolean().optional(), text: z.string().max(256).optional() }).optional(),
  }),
  // behind: the browser dropped frames it could not paint in time (the stream is slowed down for it).
  z.object({ t: z.literal('keyframe'), behind: z.boolean().optional() }),
  // The page received this many more frame messages (flow control: frame-flow.ts); 0 on open says it acknowledges.
  z.object({ t: z.literal('ack'), frames: z.number().int().min(0).max(1000) }),
  z.object({ t: z.literal('sessions') }),
  z.object({ t: z.literal('backstage.enter') }),
  z.object({ t: z.literal('backstage.exit') }),
  z.object({
    t: z.literal('backstage.exec'),
    id: z.string().min(1).max(64),
    command: z.string().min(1).max(8192),
    shell: z.enum(['default', 'cmd', 'powershell', 'sh']).optional(),
    timeout_secs: z.number().int().min(1).max(86_400).optional(),
    as_session_id: sessionId.optional(),
  }),
  z.object({ t: z.literal('backstage.cancel'), id: z.string().min(1).max(64) }),
  z.object({ t: z.literal('backstage.services'), req: reqId }),
  z.object({ t: z.literal('backstage.processes'), req: reqId, cpu: z.boolean().optional() }),
  z.object({ t: z.literal('backstage.system'), req: reqId }),
  z.object({ t: z.literal('backstage.service_control'), req: reqId, name: z.string().min(1).max(256), action: z.enum(['start', 'stop', 'restart']) }),
  z.object({ t: z.literal('backstage.kill'), req: reqId, pid: z.number().int().min(1).max(0xffffffff) }),
  // Interactive terminal (backstage, admin only): one per viewer socket, raw keystrokes as UTF-8 text.
  z.object({ t: z.literal('terminal.open'), cols: termSize, rows: termSize, as_session_id: sessionId.optional() }),
  z.object({ t: z.literal('terminal.input'), data: z.string().min(1).max(MAX_TERMINAL_INPUT_CHARS) }),
  z.object({ t: z.literal('terminal.resize'), cols: termSize, rows: termSize }),
  z.object({ t: z.literal('terminal.close') }),
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;

/** Largest JSON control message accepted from a browser. */
export const MAX_CLIENT_MESSAGE_BYTES = 16 * 1024;
/** Input events per second a viewer may send before the excess is dropped and counted. */
export const MAX_INPUT_PER_SEC = 500;
