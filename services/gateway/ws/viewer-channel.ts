/** What a viewer socket's handlers (backstage, terminal) may do with the connection: who it is, and answering it. */
import type { ErrorCode } from '../../../proto/errors.js';
import type { AgentId } from '../../../proto/ids.js';
import type { Actor } from '../bus/command-client.js';

export interface ViewerChannel {
  readonly viewerId: string;
  readonly agentId: AgentId;
  readonly actor: Actor;
  send(obj: Record<string, unknown>): void;
  /** Sends the error envelope, with the viewer id as correlation id and `req` when the message had one. */
  error(code: ErrorCode, message: string, req?: string): void;
}
