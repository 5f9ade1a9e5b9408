/**
 * The auth plugin's routes, in their own encapsulated context with zod validation. Errors go to the
 * host app's error handler (the gateway's one envelope handler), so every route answers alike.
 */
import type { FastifyPluginAsync } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { adminRoutes } from './admin-routes.js';
import { agentRoutes } from './agent-routes.js';
import { apiTokenRoutes } from './api-token-routes.js';
import { mfaRoutes } from './mfa-routes.js';
import type { AuthPluginOptions } from './options.js';
import { sessionRoutes } from './session-routes.js';

export const authRoutes: FastifyPluginAsync<AuthPluginOptions> = async (app, opts) => {
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(sessionRoutes, opts);
  await app.register(adminRoutes, opts);
  await app.register(agentRoutes, opts);
  await app.register(apiTokenRoutes, opts);
  await app.register(mfaRoutes, opts);
};
