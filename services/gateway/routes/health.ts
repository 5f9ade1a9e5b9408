/** Liveness and readiness: NATS connected and the read database answering. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../../../infra/db/schema.js';
import { healthResponseSchema } from '../api-schemas.js';

export const healthRoutes: FastifyPluginAsyncZod<{ db: Kysely<Database>; busConnected: () => boolean }> = async (app, { db, busConnected }) => {
  app.get('/api/health', {
    schema: { tags: ['health'], response: { 200: healthResponseSchema, 503: healthResponseSchema } },
  }, async (_request, reply) => {
    const nats = busConnected();
    const database = await sql`select 1`.execute(db).then(() => true, () => false);
    const body = { status: nats && database ? ('ok' as const) : ('degraded' as const), nats, database };
    return reply.code(nats && database ? 200 : 503).send(body);
  });
};
