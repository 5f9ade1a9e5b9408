/**
 * Records that a stored command was appended but never answered (TIMEOUT, AGENT_OFFLINE), so its
 * audit row is closed instead of staying open forever. The event id derives from the command id
 * under the gateways' key (event-ids.ts): idempotent across gateways, and the agent that saw the
 * command cannot publish that id first and have the stream drop this event.
 */
import type { ErrorCode } from '../../../proto/errors.js';
import { type Logger, withCorrelation } from '../../../proto/log/logger.js';
import { AgentCommand, type AgentCommandKind } from '../../../proto/subjects.js';
import type { AuditPublisher } from './audit-publisher.js';
import type { Actor } from './command-client.js';
import type { EventIds } from './event-ids.js';

export interface CommandFailure {
  agentId: string;
  kind: AgentCommandKind;
  commandId: string;
  actor: Actor;
  code: ErrorCode;
  message: string;
}

export type RecordCommandFailure = (f: CommandFailure) => Promise<void>;

/** Publishes command_failed through the gateway's one audit publisher; a failed publish is logged by it, never thrown here. */
export function commandFailureRecorder(audit: AuditPublisher, eventIds: EventIds, log?: Logger): RecordCommandFailure {
  return (f) => {
    if (log) withCorrelation(log, f.commandId, { agent_id: f.agentId, command: f.kind }).warn({ error_code: f.code }, f.message);
    return audit({
      eventType: 'command_failed',
      eventId: eventIds.commandFailed(f.commandId),
      actor: f.actor,
      agentId: f.agentId,
      correlationId: f.commandId,
      details: { command: AgentCommand[f.kind].suffix, error_code: f.code, message: f.message },
    }).catch(() => {});
  };
}
