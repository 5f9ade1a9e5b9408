/**
 * Liveness and readiness: NATS connected and the read database answering; and the read side's
 * trust signals (issue 13): each projection's lag behind the stream and its quarantined events.
 * Public, so without a signed-in admin or auditor the quarantine list carries no subject or message.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { type Kysely, sql } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../../infra/db/schema.js';
import { readSideHealth } from '../../../infra/db/read-side-health.js';
import { healthResponseSchema } from '../api-schemas.js';

/** A projection is lagging when this many events are after its checkpoint (a live one is within a few). */
export const LAGGING_EVENTS = 1000;

const readSideSchema = z.object({
  projections: z.array(z.object({ name: z.string(), checkpoint: z.number().int(), lag: z.number().int().nullable(), quarantined: z.number().int() })),
  quarantined_recent: z.array(
    z.object({
      projection: z.string(),
      stream_seq: z.number().int(),
      error_code: z.string(),
      quarantined_at: z.string(),
      subject: z.string().optional(),
      error_message: z.string().optional(),
    }),
  ),
  /** True when any projection has quarantined events or lags by LAGGING_EVENTS or more. */
  attention: z.boolean(),
});

export const healthWithReadSideSchema = healthResponseSchema.extend({ read_side: readSideSchema.nullable() });

export interface HealthDeps {
  db: Kysely<Database>;
  busConnected: () => boolean;
  /** Events after a projection's checkpoint, from the stream (null: unknown). */
  projectionLag: (name: string, checkpoint: number) => Promise<number | null>;
}

export const healthRoutes: FastifyPluginAsyncZod<HealthDeps> = async (app, { db, busConnected, projectionLag }) => {
  app.get(
    '/api/health',
    {
      schema: { tags: ['health'], response: { 200: healthWithReadSideSchema, 503: healthWithReadSideSchema } },
    },
    async (request, reply) => {
      const nats = busConnected();
      const database = await sql`select 1`.execute(db).then(
        () => true,
        () => false,
      );
      const lagOf = (name: string, checkpoint: number) => (nats ? projectionLag(name, checkpoint) : Promise.resolve(null));
      const rs = database ? await readSideHealth(db, undefined, lagOf).catch(() => null) : null;
      const role = (request as { user?: { role?: string } | null }).user?.role;
      const full = role === 'admin' || role === 'auditor';
      const read_side = rs && {
        projections: rs.projections,
        quarantined_recent: rs.quarantined_recent.map((q) => ({
          projection: q.projection,
          stream_seq: q.stream_seq,
          error_code: q.error_code,
          quarantined_at: q.quarantined_at.toISOString(),
          ...(full ? { subject: q.subject, error_message: q.error_message } : {}),
        })),
        attention: rs.projections.some((p) => p.quarantined > 0 || (p.lag ?? 0) >= LAGGING_EVENTS),
      };
      const body = { status: nats && database ? ('ok' as const) : ('degraded' as const), nats, database, read_side };
      return reply.code(nats && database ? 200 : 503).send(body);
    },
  );
};
