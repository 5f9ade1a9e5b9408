/** The agent's logger: the one factory of every process (proto/log/logger.ts), the agent id on every line. */
import { type Logger, type LoggerConfig, createLogger } from '../proto/log/logger.js';
import type { AgentConfig } from './config.js';

/** JSON lines to stdout, or to `destination` (the Windows service's log file). */
export function createAgentLogger(config: Pick<AgentConfig, 'agentId' | 'logLevel'>, destination?: LoggerConfig['destination']): Logger {
  return createLogger({ name: 'agent', level: config.logLevel, destination }).child({ agent_id: config.agentId });
}
