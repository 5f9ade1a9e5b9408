/** The audit log for admins and auditors: filters, cursor pagination, CSV / JSON-lines export. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../../infra/db/schema.js';
import type { Access } from '../access.js';
import { errorResponses } from '../api-schemas.js';

const querySchema = z.object({
  agent: z.string().max(64).optional(),
  user: z.string().max(64).optional(),
  type: z.string().max(64).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  /** Stream sequence of the last row of the previous page (pages go newest first). */
  cursor: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  format: z.enum(['json', 'csv', 'jsonl']).default('json'),
});

const eventSchema = z.object({
  id: z.string(),
  seq: z.number(),
  event_type: z.string(),
  created_at: z.string(),
  user_id: z.string().nullable(),
  user_name: z.string().nullable(),
  agent_id: z.string().nullable(),
  session_id: z.string().nullable(),
  correlation_id: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  hash: z.string(),
});
const responseSchema = z.object({ events: z.array(eventSchema), next_cursor: z.number().nullable() });
type EventDto = z.infer<typeof eventSchema>;

const CSV_COLUMNS = ['seq', 'created_at', 'event_type', 'user_name', 'agent_id', 'session_id', 'correlation_id', 'id', 'details'] as const;
const csvCell = (v: unknown) => {
  const s = typeof v === 'string' ? v : v === null || v === undefined ? '' : JSON.stringify(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

type AuditQuery = z.infer<typeof querySchema>;

/** One page of audit rows, newest first, and the cursor of the next page. */
async function auditPage(db: Kysely<Database>, q: AuditQuery): Promise<{ events: EventDto[]; next_cursor: number | null }> {
  let sel = db
    .selectFrom('events')
    .selectAll()
    .orderBy('seq', 'desc')
    .limit(q.limit + 1);
  if (q.agent) sel = sel.where('agent_id', '=', q.agent);
  if (q.user) sel = sel.where('user_name', '=', q.user);
  if (q.type) sel = sel.where('event_type', '=', q.type);
  if (q.since) sel = sel.where('created_at', '>=', new Date(q.since));
  if (q.until) sel = sel.where('created_at', '<', new Date(q.until));
  if (q.cursor !== undefined) sel = sel.where('seq', '<', String(q.cursor));
  const rows = await sel.execute();
  const events: EventDto[] = rows.slice(0, q.limit).map((r) => ({
    id: r.id,
    seq: Number(r.seq),
    event_type: r.event_type,
    created_at: r.created_at.toISOString(),
    user_id: r.user_id,
    user_name: r.user_name,
    agent_id: r.agent_id,
    session_id: r.session_id,
    correlation_id: r.correlation_id,
    details: r.details,
    hash: r.hash,
  }));
  return { events, next_cursor: rows.length > q.limit ? (events.at(-1)?.seq ?? null) : null };
}

export const auditRoutes: FastifyPluginAsyncZod<{ db: Kysely<Database>; access: Access }> = async (app, { db, access }) => {
  const auditors = access.requireRole('audit.read');

  app.get(
    '/api/audit',
    {
      preHandler: auditors,
      schema: {
        tags: ['audit'],
        summary: 'Audit events, newest first; page with next_cursor',
        querystring: querySchema.omit({ format: true }),
        response: { 200: responseSchema, ...errorResponses },
      },
    },
    async (request) => auditPage(db, { ...request.query, format: 'json' }),
  );

  app.get(
    '/api/audit/export',
    {
      preHandler: auditors,
      schema: { tags: ['audit'], summary: 'The same page as CSV or JSON lines (format=csv|jsonl)', querystring: querySchema },
    },
    async (request, reply) => {
      const { events } = await auditPage(db, request.query);
      if (request.query.format === 'csv') {
        const lines = [CSV_COLUMNS.join(','), ...events.map((e) => CSV_COLUMNS.map((c) => csvCell(e[c])).join(','))];
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', 'attachment; filename="audit.csv"')
          .send(`${lines.join('\n')}\n`);
      }
      return reply
        .type('application/x-ndjson')
        .header('content-disposition', 'attachment; filename="audit.jsonl"')
        .send(events.map((e) => `${JSON.stringify(e)}\n`).join(''));
    },
  );
};
