/** The auth plugin's routes, in their own encapsulated context with zod validation. */
import type { FastifyPluginAsync } from 'fastify';
import { hasZodFastifySchemaValidationErrors, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { ErrorCode } from '../../proto/errors.js';
import { adminRoutes } from './admin-routes.js';
import { agentRoutes } from './agent-routes.js';
import { apiTokenRoutes } from './api-token-routes.js';
import type { AuthPluginOptions } from './options.js';
import { sendError } from './reply.js';
import { sessionRoutes } from './session-routes.js';

export const authRoutes: FastifyPluginAsync<AuthPluginOptions> = async (app, opts) => {
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler((e, req, reply) => {
    if (hasZodFastifySchemaValidationErrors(e)) {
      const first = e.validation[0];
      return sendError(reply, ErrorCode.VALIDATION_FAILED, `${e.validationContext ?? 'request'}${first?.instancePath ?? ''}: ${first?.message ?? 'invalid'}`);
    }
    const fe = e as { statusCode?: number; message?: string };
    if (fe.statusCode === 400) return sendError(reply, ErrorCode.VALIDATION_FAILED, fe.message ?? 'bad request');
    req.log.error({ err: e }, 'auth route failed');
    return sendError(reply, ErrorCode.INTERNAL, 'internal error; quote the correlation id');
  });
  await app.register(sessionRoutes, opts);
  await app.register(adminRoutes, opts);
  await app.register(agentRoutes, opts);
  await app.register(apiTokenRoutes, opts);
};
