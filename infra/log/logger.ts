/**
 * The one logger factory of the gateway and the projections process: pino, JSON lines, the process
 * name on every line, and the correlation id bound where there is one (an HTTP request, a viewer
 * connection, a command), so one id finds every line of one technician action.
 */
import { type Logger, type LoggerOptions, pino } from 'pino';
import { z } from 'zod';

export type { Logger } from 'pino';

export const logLevelSchema = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
export type LogLevel = z.infer<typeof logLevelSchema>;

/** The key correlation ids are logged under (fastify's request id uses it too: app.ts `requestIdLogLabel`). */
export const CORRELATION_KEY = 'correlation_id';

export interface LoggerConfig {
  /** The process: gateway, projections. */
  name: string;
  level?: LogLevel;
  /** Where lines go (default stdout); tests pass a stream to read them. */
  destination?: pino.DestinationStream;
}

/** A logger for one process. */
export function createLogger(c: LoggerConfig): Logger {
  const options: LoggerOptions = { name: c.name, level: c.level ?? 'info', base: { process: c.name }, timestamp: pino.stdTimeFunctions.isoTime };
  return c.destination ? pino(options, c.destination) : pino(options);
}

/** A child logger whose every line carries `correlationId` (a viewer id, a command id). */
export function withCorrelation(log: Logger, correlationId: string, bindings: Record<string, unknown> = {}): Logger {
  return log.child({ [CORRELATION_KEY]: correlationId, ...bindings });
}
