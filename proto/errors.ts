/** Stable error codes and the one error envelope used everywhere (HTTP, WebSocket, CLI, NATS). */
import { z } from 'zod';

export const ErrorCode = {
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  TOKEN_REVOKED: 'TOKEN_REVOKED',
  TOKEN_EXPIRED: 'TOKEN_EXPIRED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  MACHINE_NOT_FOUND: 'MACHINE_NOT_FOUND',
  SESSION_NOT_FOUND: 'SESSION_NOT_FOUND',
  SESSION_NOT_CAPTURABLE: 'SESSION_NOT_CAPTURABLE',
  AGENT_OFFLINE: 'AGENT_OFFLINE',
  AGENT_NOT_ELEVATED: 'AGENT_NOT_ELEVATED',
  TIMEOUT: 'TIMEOUT',
  CANCELLED: 'CANCELLED',
  CAPACITY_EXCEEDED: 'CAPACITY_EXCEEDED',
  RATE_LIMITED: 'RATE_LIMITED',
  ACCOUNT_LOCKED: 'ACCOUNT_LOCKED',
  MFA_CODE_INVALID: 'MFA_CODE_INVALID',
  MFA_CHALLENGE_INVALID: 'MFA_CHALLENGE_INVALID',
  MFA_SETUP_REQUIRED: 'MFA_SETUP_REQUIRED',
  ORIGIN_REFUSED: 'ORIGIN_REFUSED',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  MALFORMED_MESSAGE: 'MALFORMED_MESSAGE',
  INVALID_ID: 'INVALID_ID',
  NOT_AVAILABLE: 'NOT_AVAILABLE',
  PLATFORM_ERROR: 'PLATFORM_ERROR',
  READ_MODEL_UNAVAILABLE: 'READ_MODEL_UNAVAILABLE',
  BUS_UNAVAILABLE: 'BUS_UNAVAILABLE',
  CONFLICT: 'CONFLICT',
  INTERNAL: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const errorCodeSchema = z.enum(Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]]);

/** The wire shape of every error: what went wrong, what to do, and the id to quote. */
export const errorEnvelopeSchema = z.object({
  error_code: errorCodeSchema,
  message: z.string(),
  correlation_id: z.string(),
});
export type ErrorEnvelope = z.infer<typeof errorEnvelopeSchema>;

/** An error as a value: code plus a message that says what to do. */
export interface GcError {
  readonly code: ErrorCode;
  readonly message: string;
}

export type Result<T, E = GcError> = { ok: true; value: T } | { ok: false; error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = (code: ErrorCode, message: string): Result<never> => ({ ok: false, error: { code, message } });

/** HTTP status for each code, used by the gateway's single error handler. */
export const httpStatusOf: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 400,
  INVALID_ID: 400,
  MALFORMED_MESSAGE: 400,
  UNAUTHENTICATED: 401,
  TOKEN_REVOKED: 401,
  TOKEN_EXPIRED: 401,
  MFA_CODE_INVALID: 401,
  MFA_CHALLENGE_INVALID: 401,
  MFA_SETUP_REQUIRED: 403,
  ORIGIN_REFUSED: 403,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  MACHINE_NOT_FOUND: 404,
  SESSION_NOT_FOUND: 404,
  SESSION_NOT_CAPTURABLE: 409,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  ACCOUNT_LOCKED: 423,
  RATE_LIMITED: 429,
  CAPACITY_EXCEEDED: 429,
  CANCELLED: 499,
  AGENT_NOT_ELEVATED: 409,
  NOT_AVAILABLE: 501,
  PLATFORM_ERROR: 502,
  AGENT_OFFLINE: 503,
  READ_MODEL_UNAVAILABLE: 503,
  BUS_UNAVAILABLE: 503,
  TIMEOUT: 504,
  INTERNAL: 500,
};
