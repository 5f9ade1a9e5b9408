/** The error envelope on HTTP replies. */
import type { FastifyReply } from 'fastify';
import { type ErrorCode, httpStatusOf } from '../../proto/errors.js';

/** Sends `{error_code, message, correlation_id}` with the status that belongs to `code`. */
export function sendError(reply: FastifyReply, code: ErrorCode, message: string): FastifyReply {
  return reply.code(httpStatusOf[code]).send({ error_code: code, message, correlation_id: String(reply.request.id) });
}
