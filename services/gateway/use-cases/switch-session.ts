/**
 * The one switch use case: REST (routes/commands.ts) and the viewer WebSocket both call it, so the
 * checks (role, grant, online, session listed, session capturable) and the audit codes of a refused
 * switch are the same whichever door the technician used.
 */
import type { Kysely } from 'kysely';
import { ErrorCode, type Result, err, ok } from '../../../proto/errors.js';
import type { AgentId } from '../../../proto/ids.js';
import type { Database } from '../../../infra/db/schema.js';
import { can } from '../../auth/policy.js';
import type { AgentEvents } from '../bus/agent-events.js';
import type { AuditPublisher } from '../bus/audit-publisher.js';
import type { Actor, CommandClient } from '../bus/command-client.js';
import type { CommandTiming } from '../bus/command-timing.js';
import { agentOnline, heardSessionsNow } from '../presence.js';
import { getMachine, listWindowsSessions, windowsSessionDto } from '../read/machines.js';

export interface SwitchSessionDeps {
  db: Kysely<Database>;
  events: AgentEvents;
  commands: CommandClient;
  audit: AuditPublisher;
  offlineAfterBeats: number;
  commandTimeoutMs: number;
}

export interface SwitchSessionInput {
  actor: Actor;
  agentId: AgentId;
  /** Whether the caller holds a grant for the machine (REST asks per request; the viewer socket asked at its upgrade). */
  granted: boolean;
  sessionId: number;
  /** The viewer whose stream follows the switch ('' switches the machine's captured session). */
  viewerId?: string;
  /** The session the viewer watched, recorded in the command and in a refused switch's audit row. */
  fromSessionId?: number;
  /** The viewer connection the audit rows belong to, when the switch came over one. */
  connectSessionId?: string;
  /** Runs once every check passed, right before the command leaves (the viewer subscribes to the target's frames). */
  beforeIssue?: () => void;
  /** Given: the command's hops are noted here (Server-Timing). */
  timing?: CommandTiming;
}

export interface SwitchOutcome {
  commandId: string;
  fromSessionId: number;
  toSessionId: number;
  durationMs: number;
}

/** Checks, audits a refusal, issues SwitchSession and returns the agent's outcome as a value. */
export async function switchSession(deps: SwitchSessionDeps, input: SwitchSessionInput): Promise<Result<SwitchOutcome>> {
  const { actor, agentId, sessionId } = input;
  const fromSessionId = input.fromSessionId ?? 0;
  const refused = (code: ErrorCode, message: string): Result<never> => {
    void deps
      .audit({ eventType: 'session_switch_failed', actor, agentId, connectSessionId: input.connectSessionId, details: { from_session: fromSessionId, to_session: sessionId, error_code: code } })
      .catch(() => {});
    return err(code, message);
  };

  const decision = can(actor, 'session.switch', { granted: input.granted });
  if (!decision.allowed) {
    if (decision.code === ErrorCode.MACHINE_NOT_FOUND) return err(decision.code, `no machine ${agentId} (or no access to it)`);
    // Denials are folded by the audit publisher (bus/denial-folder.ts): refusing someone cannot grow the log at will.
    void deps
      .audit({ eventType: 'access_denied', actor, agentId, connectSessionId: input.connectSessionId, details: { action: 'switch-session', reason: decision.reason, agent_id: agentId } })
      .catch(() => {});
    return err(ErrorCode.FORBIDDEN, 'your role may watch but not switch sessions; ask an operator or admin');
  }

  // What this gateway hears live first: fresher than the read model (which lags under load and must
  // not turn a live machine away), and no database round trip on the way to the agent.
  let sessions = heardSessionsNow(deps.events, agentId, deps.offlineAfterBeats)?.rows.map(windowsSessionDto);
  if (!sessions) {
    // Both reads at once: the list is used only once the machine is known and online, so asking for
    // it early changes no answer and saves a database round trip.
    const [machine, listed] = await Promise.all([getMachine(deps.db, agentId, deps.offlineAfterBeats), listWindowsSessions(deps.db, agentId)]);
    if (!machine) return err(ErrorCode.MACHINE_NOT_FOUND, `no machine ${agentId} (or no access to it)`);
    if (!agentOnline(deps.events, agentId, machine.online, deps.offlineAfterBeats)) {
      return refused(ErrorCode.AGENT_OFFLINE, `machine ${agentId} is offline (last seen ${machine.last_seen}); retry when its agent is back`);
    }
    sessions = listed;
  }
  const target = sessions.find((s) => s.id === sessionId);
  if (!target) {
    return refused(ErrorCode.SESSION_NOT_FOUND, `session ${sessionId} is not in machine ${agentId}'s latest session list; pick one from GET /api/machines/${agentId}/windows-sessions`);
  }
  if (!target.capturable) {
    return refused(ErrorCode.SESSION_NOT_CAPTURABLE, `session ${sessionId} (${target.user}, ${target.type}) has no desktop; use backstage for it`);
  }

  input.beforeIssue?.();
  const r = await deps.commands.issue(
    agentId,
    'switchSession',
    { switchSession: { targetSessionId: sessionId, viewerId: input.viewerId ?? '', fromSessionId } },
    {
      actor,
      timeoutMs: deps.commandTimeoutMs,
      timing: input.timing,
    },
  );
  // The command client records command_failed under the command id, closing its audit row.
  if (!r.ok) return r;
  const s = r.value.answer.sessionSwitched;
  // The agent's own SessionSwitched{ok:false} closes the command's audit row as session_switch_failed.
  if (!s?.ok) return err((s?.error?.code as ErrorCode) || ErrorCode.PLATFORM_ERROR, s?.error?.message || 'switch failed');
  return ok({ commandId: r.value.commandId, fromSessionId: s.fromSessionId ?? 0, toSessionId: s.toSessionId ?? sessionId, durationMs: Number(s.durationMs ?? 0) });
}
