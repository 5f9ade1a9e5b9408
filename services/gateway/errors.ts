/**
 * The one place errors become the envelope {error_code, message, correlation_id}: route errors,
 * fastify's own (bad URL, overlong path segment, body limits, content types) and Node's parser
 * errors on the raw socket (oversized headers), so no client ever sees another error shape.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ErrorCode, type ErrorEnvelope, type GcError, httpStatusOf } from '../../proto/errors.js';

/** Thrown inside route handlers to answer with a coded error; the handler below formats it. */
export class GcHttpError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
  static of(e: GcError): GcHttpError {
    return new GcHttpError(e.code, e.message);
  }
}

export function envelope(code: ErrorCode, message: string, correlationId: string): ErrorEnvelope {
  return { error_code: code, message, correlation_id: correlationId };
}

/** Longest path segment (an agent id is at most 64 characters); longer ones get 414. */
export const MAX_PARAM_LENGTH = 100;

/** Status, code and message for an error fastify raised itself; undefined for any other error. */
function frameworkError(error: FastifyError): { status: number; code: ErrorCode; message: string } | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: ErrorCode.PAYLOAD_TOO_LARGE, message: 'request body too large (64 KB at most)' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code: ErrorCode.VALIDATION_FAILED, message: 'unsupported content type; send the body as application/json' };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, code: ErrorCode.VALIDATION_FAILED, message: `the body is not valid JSON (${error.message}); fix it and retry` };
    case 'FST_ERR_BAD_URL':
      return { status: 400, code: ErrorCode.VALIDATION_FAILED, message: 'the path has a malformed percent-escape; encode it as UTF-8' };
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return { status: 414, code: ErrorCode.PAYLOAD_TOO_LARGE, message: `a path segment is too long (over ${MAX_PARAM_LENGTH} characters)` };
  }
  if (error.statusCode === 413) return { status: 413, code: ErrorCode.PAYLOAD_TOO_LARGE, message: 'request too large' };
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return { status: error.statusCode, code: ErrorCode.VALIDATION_FAILED, message: error.message };
  }
  return undefined;
}

function sendEnvelope(request: FastifyRequest, reply: FastifyReply, error: FastifyError | GcHttpError) {
  const id = String(request.id);
  if (error instanceof GcHttpError) {
    return reply.code(httpStatusOf[error.code]).send(envelope(error.code, error.message, id));
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const detail = error.validation.map((v) => `${error.validationContext ?? 'input'}${v.instancePath || ''} ${v.message}`).join('; ');
    return reply.code(400).send(envelope(ErrorCode.VALIDATION_FAILED, `invalid request: ${detail}. Fix the request and retry.`, id));
  }
  const known = frameworkError(error);
  if (known) return reply.code(known.status).send(envelope(known.code, known.message, id));
  if (/ECONNREFUSED|Connection terminated|the database system is|terminating connection/i.test(String(error.message))) {
    request.log.warn({ err: error }, 'read model unavailable');
    return reply.code(503).send(envelope(ErrorCode.READ_MODEL_UNAVAILABLE, 'the read database is unavailable; retry in a few seconds', id));
  }
  request.log.error({ err: error }, 'unhandled error');
  return reply.code(500).send(envelope(ErrorCode.INTERNAL, `internal error; quote ${id} when reporting it`, id));
}

/**
 * Server options that route errors fastify raises before any route runs (bad URL, overlong path
 * segment) and Node's parser errors (header overflow, malformed request) into the envelope.
 */
export const envelopeServerOptions: Pick<FastifyServerOptions, 'frameworkErrors' | 'clientErrorHandler' | 'routerOptions'> = {
  routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
  frameworkErrors: (error, request, reply) => {
    // No route matched, so no onSend hook adds the correlation header: add it here.
    reply.header('x-correlation-id', String(request.id));
    return sendEnvelope(request, reply, error);
  },
  clientErrorHandler: (error: Error & { code?: string }, socket: Socket) => {
    // A reset connection has no one to answer; Node's parser errors get the envelope on the raw socket.
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const [status, code, message] =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, ErrorCode.PAYLOAD_TOO_LARGE, 'request line and headers too large (16 KB at most); shorten the URL or headers']
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, ErrorCode.TIMEOUT, 'the request was not received in time']
          : [400, ErrorCode.VALIDATION_FAILED, 'malformed HTTP request'];
    writeRawEnvelope(socket, status, code, message);
    socket.destroy(error);
  },
};

/**
 * Writes the envelope as a whole HTTP answer on a socket no route owns (Node's parser errors, a
 * refused WebSocket handshake) and ends it.
 */
export function writeRawEnvelope(socket: Duplex, status: number, code: ErrorCode, message: string, headers: Record<string, string> = {}): void {
  const id = crypto.randomUUID();
  const body = JSON.stringify(envelope(code, message, id));
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  if (!socket.writable) return void socket.destroy();
  // Destroyed once written: the client is told, and the socket is never left half open.
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Correlation-Id: ${id}\r\n${extra}Connection: close\r\n\r\n${body}`,
  );
}

/** The error and not-found handlers of the app (and of any child context that sets none). */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | GcHttpError, request, reply) => sendEnvelope(request, reply, error));
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(envelope(ErrorCode.NOT_FOUND, `no route ${request.method} ${request.url}`, String(request.id)));
  });
}
