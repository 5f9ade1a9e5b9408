/** Types the dashboard shares with the gateway (imported, never rewritten) plus the viewer socket's server messages. */
import type { MachineDto, MachinesPageDto, WindowsSessionDto } from '../../gateway/api-schemas.js';
import type { AuthUser, Role } from '../../auth/roles.js';
import type { apiTokenInfoSchema, createApiTokenReplySchema } from '../../auth/api-token-schemas.js';
import type { mfaSetupReplySchema, mfaStatusSchema } from '../../auth/schemas.js';
import type { z } from 'zod';

export type { AuthUser, MachineDto, MachinesPageDto, Role, WindowsSessionDto };
/** An API token as GET /api/tokens lists it, and the one-time reply of POST /api/tokens. */
export type ApiTokenDto = z.infer<typeof apiTokenInfoSchema>;
export type CreatedApiTokenDto = z.infer<typeof createApiTokenReplySchema>;
/** The second factor's state (GET /api/auth/me, GET /api/auth/mfa) and the one-time set-up answer. */
export type MfaStatusDto = z.infer<typeof mfaStatusSchema>;
export type MfaSetupDto = z.infer<typeof mfaSetupReplySchema>;

/** What the viewer socket sends to the browser (services/gateway/ws/viewer-socket.ts, backstage-socket.ts). */
export type ServerMessage =
  | { t: 'hello'; viewer_id: string; agent_id: string; user: string; role: Role }
  | { t: 'sessions'; sessions: WindowsSessionDto[]; current_session_id: number; online: boolean }
  | { t: 'watching'; session_id: number; control: boolean }
  | { t: 'switched'; ok: true; from: number; to: number; duration_ms?: unknown; noop?: boolean; req?: string; server_timing?: string }
  | { t: 'error'; error_code: string; message: string; correlation_id: string; req?: string }
  | { t: 'backstage.entered' }
  | { t: 'backstage.exited' }
  | { t: 'backstage.chunk'; id?: string; stream: 'stdout' | 'stderr'; data: string }
  | {
      t: 'backstage.done';
      id?: string;
      command_id: string;
      exit_code: number;
      truncated: boolean;
      timed_out: boolean;
      cancelled: boolean;
      duration_ms: unknown;
      output_bytes: unknown;
      run_as_user: string;
    }
  | { t: 'backstage.services'; req?: string; available: boolean; reason: string; services: unknown[]; age_ms?: number }
  | { t: 'backstage.processes'; req?: string; processes: unknown[]; omitted?: number; command_lines_cut?: boolean }
  | { t: 'backstage.system'; req?: string; system: unknown }
  | { t: 'backstage.control'; req?: string; result: unknown }
  | { t: 'terminal.opened'; run_as_user: string }
  | { t: 'terminal.output'; data: string }
  | { t: 'terminal.closed'; exit_code: unknown; error_code?: string; reason?: string };

/** One audit event as GET /api/audit returns it. */
export interface AuditEventDto {
  id: string;
  seq: number;
  event_type: string;
  created_at: string;
  user_name: string | null;
  agent_id: string | null;
  session_id: string | number | null;
  details: Record<string, unknown> | null;
  correlation_id: string | null;
}
export interface AuditPage {
  events: AuditEventDto[];
  next_cursor: string | null;
}
