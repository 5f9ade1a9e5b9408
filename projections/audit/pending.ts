/** Commands asked for whose result has not arrived (not yet in the chained audit log). */
import type { Kysely } from 'kysely';
import type { Database } from '../../infra/db/schema.js';
import type { AuditPendingRow } from '../../infra/db/tables/audit.js';

/** Pending commands, oldest first; `olderThanMs` keeps only those waiting at least that long. */
export function pendingCommands(db: Kysely<Database>, o: { agentId?: string; olderThanMs?: number } = {}): Promise<AuditPendingRow[]> {
  let q = db.selectFrom('audit_pending').selectAll().orderBy('seq');
  if (o.agentId) q = q.where('agent_id', '=', o.agentId);
  if (o.olderThanMs) q = q.where('requested_at', '<', new Date(Date.now() - o.olderThanMs));
  return q.execute();
}
