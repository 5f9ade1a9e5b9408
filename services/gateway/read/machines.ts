/** Queries of the machines and windows_sessions read models, shaped for the API. */
import type { Kysely } from 'kysely';
import type { Database } from '../../../infra/db/schema.js';
import { stateLabelOfText, typeLabelOfText } from '../../../proto/session-labels.js';
import type { MachineDto, WindowsSessionDto } from '../api-schemas.js';

/** Online means: not stopped, and a heartbeat within `offlineAfterBeats` intervals. */
export function isOnline(row: { state: string; last_seen: Date; heartbeat_interval_ms: number | string }, offlineAfterBeats: number, now = Date.now()): boolean {
  // bigint column (migration 0005): pg returns it as a string.
  return row.state === 'online' && now - row.last_seen.getTime() <= Number(row.heartbeat_interval_ms) * offlineAfterBeats;
}

export async function listMachines(db: Kysely<Database>, offlineAfterBeats: number, only: '*' | string[] = '*'): Promise<MachineDto[]> {
  if (only !== '*' && only.length === 0) return [];
  let q = db.selectFrom('machines').selectAll().orderBy('hostname').orderBy('agent_id');
  if (only !== '*') q = q.where('agent_id', 'in', only);
  const rows = await q.execute();
  return rows.map((r) => ({
    agent_id: r.agent_id,
    hostname: r.hostname,
    os_version: r.os_version,
    platform: r.platform,
    agent_version: r.agent_version,
    elevated: r.elevated,
    online: isOnline(r, offlineAfterBeats),
    last_seen: r.last_seen.toISOString(),
    session_count: Number(r.session_count),
    users: r.users,
    current_session_id: Number(r.current_session_id),
  }));
}

export async function getMachine(db: Kysely<Database>, agentId: string, offlineAfterBeats: number): Promise<MachineDto | undefined> {
  const [m] = await listMachines(db, offlineAfterBeats, [agentId]);
  return m;
}

export async function listWindowsSessions(db: Kysely<Database>, agentId: string): Promise<WindowsSessionDto[]> {
  const rows = await db.selectFrom('windows_sessions').selectAll().where('agent_id', '=', agentId).orderBy('session_id').execute();
  return rows.map((r) => ({
    id: Number(r.session_id),
    user: r.user_name,
    state: stateLabelOfText(r.state),
    type: typeLabelOfText(r.type),
    domain: r.domain,
    station: r.station_name,
    client_name: r.client_name,
    client_address: r.client_address,
    logon_time: r.logon_time ? r.logon_time.toISOString() : null,
    idle_secs: Number(r.idle_secs),
    locked: r.locked,
    capturable: r.capturable,
  }));
}
