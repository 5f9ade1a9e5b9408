/** windows_sessions: each agent's rows replaced by the latest session list it published. */
import type { Insertable, Transaction } from 'kysely';
import type { Database, WindowsSessionsTable } from '../infra/db/schema.js';
import { machinesProjection } from './machines.projection.js';
import type { DecodedEvent, ProjectionDef } from './runtime/types.js';
import { sessionListOf, sessionStateText, sessionTypeText } from './session-fields.js';

/** Rows for an agent's latest list (pure). */
export function windowsSessionRows(e: DecodedEvent): Insertable<WindowsSessionsTable>[] {
  if (e.parsed.family !== 'agent') return [];
  const agentId = e.parsed.agentId as string;
  const at = new Date(e.atMs);
  const seen = new Set<number>();
  const rows: Insertable<WindowsSessionsTable>[] = [];
  for (const s of sessionListOf(e)?.sessions ?? []) {
    const id = s.sessionId ?? 0;
    if (seen.has(id)) continue; // a malformed list must not break the primary key
    seen.add(id);
    const logon = Number(s.logonTimeMs ?? 0);
    rows.push({
      agent_id: agentId, session_id: id, user_name: s.userName ?? '', domain: s.domain ?? '',
      state: sessionStateText(s.state), type: sessionTypeText(s.type), station_name: s.stationName ?? '',
      client_name: s.clientName ?? '', client_address: s.clientAddress ?? '', logon_time: logon > 0 ? new Date(logon) : null,
      idle_secs: s.idleSecs ?? 0, locked: s.locked ?? false, capturable: s.capturable ?? false, updated_at: at,
    });
  }
  return rows;
}

async function apply(trx: Transaction<Database>, events: DecodedEvent[]): Promise<void> {
  const latest = new Map<string, DecodedEvent>();
  for (const e of events) if (e.parsed.family === 'agent' && sessionListOf(e)) latest.set(e.parsed.agentId, e);
  if (latest.size === 0) return;
  await trx.deleteFrom('windows_sessions').where('agent_id', 'in', [...latest.keys()]).execute();
  const rows = [...latest.values()].flatMap(windowsSessionRows);
  for (let i = 0; i < rows.length; i += 2000) await trx.insertInto('windows_sessions').values(rows.slice(i, i + 2000)).execute();
}

export const windowsSessionsProjection: ProjectionDef = {
  name: 'windows_sessions',
  filterSubject: machinesProjection.filterSubject,
  tables: ['windows_sessions'],
  apply,
};
