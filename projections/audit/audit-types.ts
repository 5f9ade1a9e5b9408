/** In-memory shapes of the audit fold: the rows it writes and the state it needs between events. */
import type { Selectable } from 'kysely';
import type { AuditPendingTable, EventsTable } from '../../infra/db/tables/audit.js';

/** An audit row before it is chained (no hash yet); `seq` is a number here. */
export type AuditRow = Omit<Selectable<EventsTable>, 'hash' | 'seq'> & { seq: number };
export type ChainedAuditRow = AuditRow & { hash: string };

export type PendingCommand = Omit<Selectable<AuditPendingTable>, 'seq'> & { seq: number };

/** What the fold needs to know about earlier events; the projection loads only the keys of a batch. */
export interface AuditState {
  pending: Map<string, PendingCommand>;
  /** Ids already written as rows (command ids and event ids): a late or duplicate fact is not a second row. */
  rowIds: Set<string>;
  online: Map<string, boolean>;
}

export function emptyAuditState(): AuditState {
  return { pending: new Map(), rowIds: new Set(), online: new Map() };
}
