/** The one place errors become the envelope {error_code, message, correlation_id}. */
import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ErrorCode, type ErrorEnvelope, type GcError, httpStatusOf } from '../../proto/errors.js';

/** Thrown inside route handlers to answer with a coded error; the handler below formats it. */
export class GcHttpError extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
  }
  static of(e: GcError): GcHttpError {
    return new GcHttpError(e.code, e.message);
  }
}

export function envelope(code: ErrorCode, message: string, correlationId: string): ErrorEnvelope {
  return { error_code: code, message, correlation_id: correlationId };
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | GcHttpError, request, reply) => {
    const id = String(request.id);
    if (error instanceof GcHttpError) {
      return reply.code(httpStatusOf[error.code]).send(envelope(error.code, error.message, id));
    }
    if (hasZodFastifySchemaValidationErrors(error)) {
      const detail = error.validation.map((v) => `${v.instancePath || error.validationContext || 'input'} ${v.message}`).join('; ');
      return reply.code(400).send(envelope(ErrorCode.VALIDATION_FAILED, `invalid request: ${detail}. Fix the request and retry.`, id));
    }
    if (error.statusCode === 413 || error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.code(413).send(envelope(ErrorCode.PAYLOAD_TOO_LARGE, 'request body too large', id));
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.code(error.statusCode).send(envelope(ErrorCode.VALIDATION_FAILED, error.message, id));
    }
    if (/ECONNREFUSED|Connection terminated|the database system is|terminating connection/i.test(String(error.message))) {
      request.log.warn({ err: error }, 'read model unavailable');
      return reply.code(503).send(envelope(ErrorCode.READ_MODEL_UNAVAILABLE, 'the read database is unavailable; retry in a few seconds', id));
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.code(500).send(envelope(ErrorCode.INTERNAL, `internal error; quote ${id} when reporting it`, id));
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(envelope(ErrorCode.NOT_FOUND, `no route ${request.method} ${request.url}`, String(request.id)));
  });
}
