/** Machines and their Windows sessions, read from the projections; the list is paged (machines-query.ts). */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { ErrorCode } from '../../../proto/errors.js';
import type { Database } from '../../../infra/db/schema.js';
import type { Access } from '../access.js';
import { agentParamsSchema, errorResponses, machineSchema, machinesResponseSchema, windowsSessionsResponseSchema } from '../api-schemas.js';
import { GcHttpError } from '../errors.js';
import { getMachine, listMachinesPage, listWindowsSessions } from '../read/machines.js';
import { machinesQuerySchema } from './machines-query.js';

export interface MachinesRouteDeps {
  db: Kysely<Database>;
  access: Access;
  offlineAfterBeats: number;
}

export const machinesRoutes: FastifyPluginAsyncZod<MachinesRouteDeps> = async (app, { db, access, offlineAfterBeats }) => {
  const anyRole = access.requireRole('machines.read');
  // Auditors may list machines (agent id to host name, for reading the audit log), nothing more.
  const listers = access.requireRole('machines.list');

  app.get(
    '/api/machines',
    {
      preHandler: listers,
      schema: {
        tags: ['machines'],
        summary: 'Machines with online status, session count and logged-on users: one page in host name order, filtered on the server',
        querystring: machinesQuerySchema,
        response: { 200: machinesResponseSchema, ...errorResponses },
      },
    },
    async (request) => listMachinesPage(db, offlineAfterBeats, request.query, await access.accessibleMachines(request)),
  );

  app.get(
    '/api/machines/:agentId',
    {
      preHandler: anyRole,
      schema: { tags: ['machines'], params: agentParamsSchema, response: { 200: machineSchema, ...errorResponses } },
    },
    async (request) => {
      const { agentId } = request.params;
      const m = (await access.canAccessMachine(request, agentId)) ? await getMachine(db, agentId, offlineAfterBeats) : undefined;
      if (!m) throw new GcHttpError(ErrorCode.MACHINE_NOT_FOUND, `no machine ${agentId} (or no access to it); list machines with GET /api/machines`);
      return m;
    },
  );

  app.get(
    '/api/machines/:agentId/windows-sessions',
    {
      preHandler: anyRole,
      schema: {
        tags: ['machines'],
        summary: "The machine's user sessions (Session 0 excluded), as the agent last reported them",
        params: agentParamsSchema,
        response: { 200: windowsSessionsResponseSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { agentId } = request.params;
      const m = (await access.canAccessMachine(request, agentId)) ? await getMachine(db, agentId, offlineAfterBeats) : undefined;
      if (!m) throw new GcHttpError(ErrorCode.MACHINE_NOT_FOUND, `no machine ${agentId} (or no access to it); list machines with GET /api/machines`);
      return { sessions: await listWindowsSessions(db, agentId) };
    },
  );
};
