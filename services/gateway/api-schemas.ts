/** Shapes of the gateway's HTTP API (zod); the OpenAPI document is generated from them. */
import { z } from 'zod';
import { errorEnvelopeSchema } from '../../proto/errors.js';
import { agentIdSchema } from '../../proto/ids.js';

export const agentParamsSchema = z.object({ agentId: agentIdSchema });

/** The spec's session shape, plus the richer details the agent reports. */
export const windowsSessionSchema = z.object({
  id: z.number().int(),
  user: z.string(),
  state: z.enum(['Active', 'Disconnected', 'Idle']),
  type: z.enum(['Console', 'RDP', 'Terminal']),
  domain: z.string(),
  station: z.string(),
  client_name: z.string(),
  client_address: z.string(),
  logon_time: z.string().nullable(),
  idle_secs: z.number().int(),
  locked: z.boolean(),
  capturable: z.boolean(),
});
export const windowsSessionsResponseSchema = z.object({ sessions: z.array(windowsSessionSchema) });
export type WindowsSessionDto = z.infer<typeof windowsSessionSchema>;

export const machineSchema = z.object({
  agent_id: z.string(),
  hostname: z.string(),
  os_version: z.string(),
  platform: z.string(),
  agent_version: z.string(),
  elevated: z.boolean(),
  online: z.boolean(),
  last_seen: z.string(),
  session_count: z.number().int(),
  users: z.array(z.string()),
  current_session_id: z.number().int(),
});
/** One page of the machines list (GET /api/machines), with the counts the page header shows. */
export const machinesResponseSchema = z.object({
  machines: z.array(machineSchema),
  /** Pass as `cursor` for the next page; null on the last page. */
  next_cursor: z.string().nullable(),
  /** Machines the caller may see, and how many of them are online. */
  total: z.number().int(),
  online: z.number().int(),
  /** Of those, how many match `q` and `status` (every page together)... */
  matching: z.number().int(),
  /** ...or, when true, that more than `matching` do (a text filter's matches are counted up to 1,000). */
  matching_capped: z.boolean(),
});
export type MachinesPageDto = z.infer<typeof machinesResponseSchema>;
export type MachineDto = z.infer<typeof machineSchema>;

export const switchBodySchema = z.object({
  session_id: z.number().int().min(1).max(0xffffffff),
  viewer_id: z.string().max(64).optional(),
});
export const switchResponseSchema = z.object({
  ok: z.literal(true),
  command_id: z.string(),
  from_session_id: z.number().int(),
  to_session_id: z.number().int(),
  duration_ms: z.number(),
});

export const healthResponseSchema = z.object({
  status: z.enum(['ok', 'degraded']),
  nats: z.boolean(),
  database: z.boolean(),
});

export const errorResponses = {
  400: errorEnvelopeSchema,
  401: errorEnvelopeSchema,
  403: errorEnvelopeSchema,
  404: errorEnvelopeSchema,
  409: errorEnvelopeSchema,
  503: errorEnvelopeSchema,
  504: errorEnvelopeSchema,
} as const;
