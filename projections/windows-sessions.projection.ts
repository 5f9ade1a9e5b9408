/** windows_sessions: each agent's rows replaced by the latest session list it published. */
import type { Insertable, Transaction } from 'kysely';
import type { Database, WindowsSessionsTable } from '../infra/db/schema.js';
import { machinesProjection } from './machines.projection.js';
import type { DecodedEvent, ProjectionDef } from './runtime/types.js';
import { type Columns, anyOf, unnestInsert } from './runtime/unnest-insert.js';
import { sessionListOf } from './session-fields.js';
import { windowsSessionRowsOf } from '../infra/db/windows-session-rows.js';

/** Rows for an agent's latest list (pure). */
export function windowsSessionRows(e: DecodedEvent): Insertable<WindowsSessionsTable>[] {
  if (e.parsed.family !== 'agent') return [];
  const agentId = e.parsed.agentId as string;
  const at = new Date(e.atMs);
  return windowsSessionRowsOf(sessionListOf(e), e.streamMs).map((r) => ({ agent_id: agentId, ...r, updated_at: at }));
}

const columns: Columns<Insertable<WindowsSessionsTable>> = {
  agent_id: 'text',
  session_id: 'int8',
  user_name: 'text',
  domain: 'text',
  state: 'text',
  type: 'text',
  station_name: 'text',
  client_name: 'text',
  client_address: 'text',
  logon_time: 'timestamptz',
  idle_secs: 'int8',
  locked: 'bool',
  capturable: 'bool',
  updated_at: 'timestamptz',
};

/** Per batch only each agent's latest list counts: older ones in the batch are replaced anyway. */
async function apply(trx: Transaction<Database>, events: DecodedEvent[]): Promise<void> {
  const latest = new Map<string, DecodedEvent>();
  for (const e of events) if (e.parsed.family === 'agent' && sessionListOf(e)) latest.set(e.parsed.agentId, e);
  if (latest.size === 0) return;
  await trx
    .deleteFrom('windows_sessions')
    .where(anyOf('agent_id', [...latest.keys()]))
    .execute();
  await unnestInsert(trx, { table: 'windows_sessions', rows: [...latest.values()].flatMap(windowsSessionRows), columns });
}

export const windowsSessionsProjection: ProjectionDef = {
  name: 'windows_sessions',
  filterSubject: machinesProjection.filterSubject,
  tables: ['windows_sessions'],
  apply,
};
