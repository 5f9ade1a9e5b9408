/**
 * Publishes terminal output on gc.agent.<self>.terminal over core NATS: the subject is live only (not
 * in the event stream, keystrokes echoed at a password prompt must not be stored), so no JetStream.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import { encode, message } from '../../proto/codec.js';
import type { guruconnect } from '../../proto/generated/guruconnect.js';
import type { AgentId } from '../../proto/ids.js';
import { subjects } from '../../proto/subjects.js';

export type TerminalOutput = guruconnect.TerminalOutput.$Properties;
/** Sends one TerminalOutput correlated with its terminal id. */
export type PublishTerminal = (terminalId: string, out: TerminalOutput) => void;

/** Core-NATS publisher for one agent's terminal output. */
export function createTerminalPublisher(nc: NatsConnection, agentId: AgentId): PublishTerminal {
  const subject = subjects.agentEvent(agentId, 'terminal');
  return (terminalId, out) => {
    if (nc.isClosed()) return;
    nc.publish(subject, encode(message({ terminalOutput: out }, { agentId, correlationId: terminalId })));
  };
}
