/** Technician roles and the authenticated user as the gateway sees it. */
import { z } from 'zod';

/** admin: everything incl. backstage and user management; operator: view and control granted machines; viewer: view only; auditor: read the audit log. */
export const roleSchema = z.enum(['admin', 'operator', 'viewer', 'auditor']);
export type Role = z.infer<typeof roleSchema>;

/** Technician names: short, printable, safe in logs and audit details. */
export const userNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9._@-]+$/, 'use letters, digits, . _ @ -');

export const authUserSchema = z.object({
  id: z.string(),
  name: z.string(),
  role: roleSchema,
  /** Set when the request came with an API token: which one (audit details name it). */
  api_token: z.object({ id: z.string(), name: z.string() }).optional(),
});
export type AuthUser = z.infer<typeof authUserSchema>;

/** A machine grant target: one agent id or '*' for every machine. */
export const ALL_MACHINES = '*';
