/** `POST /api/agents/enroll` from the installer: one request, its answer or the gateway's error envelope. */
import { type EnrollReply, enrollReplySchema } from '../../proto/enrollment.js';
import { errorEnvelopeSchema } from '../../proto/errors.js';
import type { InstallArgs } from './install-args.js';
import { postJson } from './post-json.js';

export type Enrollment = EnrollReply;

/** Enrolls this machine; an error names the gateway's code (e.g. CONFLICT for an id already enrolled). */
export async function enroll(args: InstallArgs, host: string): Promise<{ ok: true; value: Enrollment } | { ok: false; code: string; message: string }> {
  const url = new URL('/api/agents/enroll', args.server);
  let res: { status: number; body: unknown };
  try {
    res = await postJson(url, { enrollment_key: args.enrollKey, agent_id: args.agentId, hostname: host.slice(0, 255) || args.agentId });
  } catch (e) {
    return { ok: false, code: 'UNREACHABLE', message: `cannot reach ${url.origin}: ${(e as Error).message}` };
  }
  const body = res.body;
  if (res.status < 200 || res.status > 299) {
    const env = errorEnvelopeSchema.safeParse(body);
    if (!env.success) return { ok: false, code: `HTTP_${res.status}`, message: `the gateway answered ${res.status} without an error envelope` };
    const hint = env.data.error_code === 'CONFLICT' ? ' (an admin revokes the old agent first to re-enroll under this id, or pass another --agent-id)' : '';
    return { ok: false, code: env.data.error_code, message: `${env.data.message}${hint}` };
  }
  const reply = enrollReplySchema.safeParse(body);
  if (!reply.success || reply.data.agent_id !== args.agentId)
    return { ok: false, code: 'BAD_REPLY', message: 'the gateway answered the enrollment with something other than credentials for this agent' };
  return { ok: true, value: reply.data };
}

/** The NATS URL the agent will use: `--nats` when given, else the gateway's (the first of a list). */
export function chosenNatsUrl(args: InstallArgs, e: Enrollment): string {
  return args.nats ?? (Array.isArray(e.nats_url) ? (e.nats_url[0] ?? '') : e.nats_url);
}
