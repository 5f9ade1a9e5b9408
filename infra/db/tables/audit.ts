/** Audit log and viewer connections (issue 5). Owned by the projections work. */
export type AuditTables = {}
