/**
 * The gateway's HTTP edge before any route: fastify with the error envelope for every refusal (its
 * own and Node's), zod validation, JSON only, the input guard (NUL, lone surrogates), the
 * correlation id on every answer and the browser security headers. One function, so that a test
 * mounting a single plugin behind it meets the same edge the gateway has.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { CORRELATION_KEY, type Logger } from '../../proto/log/logger.js';
import { installSecurityHeaders } from './browser-security.js';
import type { AuditPublisher } from './bus/audit-publisher.js';
import { type GatewayConfig, readHttpsFiles } from './config.js';
import { envelopeServerOptions, installErrorHandler } from './errors.js';
import { installInputGuard, safeText } from './input-guard.js';

export interface HttpEdgeOptions {
  config: Pick<GatewayConfig, 'trustProxy' | 'httpsCert' | 'httpsKey'>;
  /** Where a login refused for its input is recorded as a failed login. */
  audit: AuditPublisher;
  /** The process logger; none: silent. */
  logger?: Logger;
}

export function createHttpEdge({ config, audit, logger }: HttpEdgeOptions): FastifyInstance {
  const https = readHttpsFiles(config);
  if (https && !https.ok) throw new Error(`invalid gateway configuration: ${https.error}`);
  // One instance type for HTTP and HTTPS: routes and hooks do not care which server carries them.
  const app = Fastify({
    // A pino Logger is a FastifyBaseLogger; typed as such so routes keep fastify's default logger type.
    ...(logger ? { loggerInstance: logger as FastifyBaseLogger } : { logger: false }),
    // Every line of a request carries its id under the same key as a viewer's or a command's
    // (through logController: the top-level requestIdLogLabel is deprecated and warned about at start).
    logController: new LogController({ requestIdLogLabel: CORRELATION_KEY }),
    bodyLimit: 64 * 1024,
    genReqId: () => crypto.randomUUID(),
    // Only behind a TLS-terminating proxy the operator named: else X-Forwarded-* is ignored (rate limits key on the socket address).
    trustProxy: config.trustProxy,
    ...(https ? { https: { cert: https.cert, key: https.key } } : {}),
    ...envelopeServerOptions,
  }) as unknown as FastifyInstance;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandler(app);
  // The API speaks JSON only: a text/plain body is refused with 415, not handed to a schema as a string.
  app.removeContentTypeParser('text/plain');
  installInputGuard(app, async (request, problem) => {
    // A refused login is still a failed login: record it, with the name made safe to store.
    if (request.routeOptions.url !== '/api/auth/login' && request.routeOptions.url !== '/api/auth/login/mfa') return;
    const name = (request.body as { name?: unknown } | undefined)?.name;
    await audit({
      eventType: 'login_failed',
      correlationId: String(request.id),
      details: { name: typeof name === 'string' ? safeText(name) : null, ip: request.ip, reason: 'invalid_input', problem },
    }).catch((e: unknown) => request.log.error({ err: e }, 'audit of login_failed failed'));
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-correlation-id', String(request.id));
  });
  installSecurityHeaders(app);
  return app;
}
