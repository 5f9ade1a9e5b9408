/**
 * Commands over REST for automation and scripts: switch a machine's captured session, and run
 * backstage operations (admin-only). The browser uses the viewer WebSocket for the same actions.
 */
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { ErrorCode } from '../../../proto/errors.js';
import type { Database } from '../../../infra/db/schema.js';
import type { Access } from '../access.js';
import { agentParamsSchema, errorResponses, switchBodySchema, switchResponseSchema } from '../api-schemas.js';
import type { AuditPublisher } from '../bus/audit-publisher.js';
import type { AgentEvents } from '../bus/agent-events.js';
import type { CommandClient } from '../bus/command-client.js';
import { type RequestTiming, serverTimingHeader, startRequestTiming } from '../bus/command-timing.js';
import type { BackstageClient } from '../backstage/backstage-client.js';
import { GcHttpError } from '../errors.js';
import { agentOnline, heardOnline } from '../presence.js';
import { getMachine } from '../read/machines.js';
import { switchSession } from '../use-cases/switch-session.js';

export interface CommandRouteDeps {
  db: Kysely<Database>;
  access: Access;
  commands: CommandClient;
  events: AgentEvents;
  backstage: BackstageClient;
  audit: AuditPublisher;
  offlineAfterBeats: number;
  commandTimeoutMs: number;
  /** Answer command routes with a Server-Timing header of the command's hops (GC_SERVER_TIMING). */
  serverTiming?: boolean;
}

const execBodySchema = z.object({
  command: z.string().min(1).max(8192),
  shell: z.enum(['default', 'cmd', 'powershell', 'sh']).optional(),
  timeout_secs: z.number().int().min(1).max(86_400).optional(),
  as_session_id: z.number().int().min(0).max(0xffffffff).optional(),
});
const execResponseSchema = z.object({
  command_id: z.string(),
  stdout: z.string(),
  stderr: z.string(),
  exit_code: z.number().int(),
  truncated: z.boolean(),
  timed_out: z.boolean(),
  cancelled: z.boolean(),
  duration_ms: z.number(),
  output_bytes: z.number(),
  run_as_user: z.string(),
});
const listResponseSchema = z.object({ command_id: z.string(), result: z.record(z.string(), z.unknown()) });
/** The agent samples CPU over this window before listing (0 = no sample: cpuPercent is -1); it caps at 5000 itself. */
const processesQuerySchema = z.object({ cpu_sample_ms: z.coerce.number().int().min(0).max(5000).optional() });

export const commandRoutes: FastifyPluginAsyncZod<CommandRouteDeps> = async (app, deps) => {
  const { access } = deps;
  /** A request's hop timing when Server-Timing is on; `finish` sets the header (also on an error reply). */
  const timed = (reply: FastifyReply): RequestTiming | undefined => {
    if (!deps.serverTiming) return undefined;
    const t = startRequestTiming(reply.elapsedTime);
    timings.set(reply, t);
    return t;
  };
  const timings = new WeakMap<FastifyReply, RequestTiming>();
  app.addHook('onSend', async (_request, reply) => {
    const t = timings.get(reply);
    if (t) reply.header('server-timing', serverTimingHeader(t));
  });

  /**
   * 404 for machines the caller may not reach, AGENT_OFFLINE before waiting on a dead agent. A machine
   * whose heartbeats this gateway hears now is online without asking the read model (no database
   * round trip on the way to the agent; the read model lags under load anyway).
   */
  const onlineMachine = async (request: Parameters<Access['actor']>[0], agentId: string): Promise<void> => {
    // The grant and the read model are asked at once when both are needed; the grant is judged first
    // all the same, so a machine the caller may not reach is a 404 whatever its state.
    const heard = heardOnline(deps.events, agentId, deps.offlineAfterBeats);
    const [granted, m] = await Promise.all([access.canAccessMachine(request, agentId), heard ? undefined : getMachine(deps.db, agentId, deps.offlineAfterBeats)]);
    if (!granted) throw new GcHttpError(ErrorCode.MACHINE_NOT_FOUND, `no machine ${agentId} (or no access to it)`);
    if (heard) return;
    if (!m) throw new GcHttpError(ErrorCode.MACHINE_NOT_FOUND, `no machine ${agentId} (or no access to it)`);
    if (!agentOnline(deps.events, agentId, m.online, deps.offlineAfterBeats))
      throw new GcHttpError(ErrorCode.AGENT_OFFLINE, `machine ${agentId} is offline (last seen ${m.last_seen}); retry when its agent is back`);
  };

  app.post(
    '/api/machines/:agentId/switch-session',
    {
      preHandler: access.requireRole('session.switch'),
      schema: {
        tags: ['sessions'],
        summary: "Switch the machine's captured session (a viewer's stream when viewer_id is given)",
        params: agentParamsSchema,
        body: switchBodySchema,
        response: { 200: switchResponseSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const timing = timed(reply);
      const { agentId } = request.params;
      const r = await switchSession(deps, {
        actor: access.actor(request),
        agentId,
        granted: await access.canAccessMachine(request, agentId),
        sessionId: request.body.session_id,
        viewerId: request.body.viewer_id,
        timing: timing?.command,
      });
      if (!r.ok) throw GcHttpError.of(r.error);
      const s = r.value;
      return { ok: true as const, command_id: s.commandId, from_session_id: s.fromSessionId, to_session_id: s.toSessionId, duration_ms: s.durationMs };
    },
  );

  const admin = access.requireRole('backstage');

  app.post(
    '/api/machines/:agentId/backstage/exec',
    {
      preHandler: admin,
      schema: {
        tags: ['backstage'],
        summary: 'Run a command in backstage (Session 0) and wait for its result',
        params: agentParamsSchema,
        body: execBodySchema,
        response: { 200: execResponseSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const timing = timed(reply);
      const { agentId } = request.params;
      await onlineMachine(request, agentId);
      let stdout = '';
      let stderr = '';
      const b = request.body;
      const r = await deps.backstage.run(agentId, { kind: 'exec', command: b.command, shell: b.shell, timeoutSecs: b.timeout_secs, asSessionId: b.as_session_id }, access.actor(request), {
        onChunk: (c) => {
          if (c.stream === 1) stderr += c.data ?? '';
          else stdout += c.data ?? '';
        },
        timing: timing?.command,
      });
      if (!r.ok) throw GcHttpError.of(r.error);
      const c = r.value.output.commandOutput ?? {};
      return {
        command_id: r.value.commandId,
        stdout: stdout + (c.stdout ?? ''),
        stderr: stderr + (c.stderr ?? ''),
        exit_code: c.exitCode ?? 0,
        truncated: !!c.truncated,
        timed_out: !!c.timedOut,
        cancelled: !!c.cancelled,
        duration_ms: Number(c.durationMs ?? 0),
        output_bytes: Number(c.outputBytes ?? 0),
        run_as_user: c.runAsUser ?? '',
      };
    },
  );

  for (const [path, kind] of [
    ['services', 'services'],
    ['processes', 'processes'],
    ['system-info', 'system'],
  ] as const) {
    app.get(
      `/api/machines/:agentId/backstage/${path}`,
      {
        preHandler: admin,
        schema: { tags: ['backstage'], params: agentParamsSchema, ...(kind === 'processes' ? { querystring: processesQuerySchema } : {}), response: { 200: listResponseSchema, ...errorResponses } },
      },
      async (request, reply) => {
        const timing = timed(reply);
        const { agentId } = request.params;
        await onlineMachine(request, agentId);
        // One handler serves three paths, so its query is untyped: read the already validated one through the schema.
        const cpuSampleMs = kind === 'processes' ? processesQuerySchema.parse(request.query).cpu_sample_ms : undefined;
        const r = await deps.backstage.run(agentId, kind === 'processes' ? { kind, cpuSampleMs } : { kind }, access.actor(request), { timing: timing?.command });
        if (!r.ok) throw GcHttpError.of(r.error);
        const o = r.value.output;
        // protobufjs' JSON form (the same objects the viewer WebSocket sends): camelCase, enums as names.
        return { command_id: r.value.commandId, result: JSON.parse(JSON.stringify(o.serviceList ?? o.processList ?? o.systemInfo ?? {})) as Record<string, unknown> };
      },
    );
  }
};
