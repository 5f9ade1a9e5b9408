/** Queries of the machines and windows_sessions read models, shaped for the API. */
import { type Kysely, type RawBuilder, type Selectable, sql } from 'kysely';
import type { Database, MachinesTable } from '../../../infra/db/schema.js';
import type { WindowsSessionFields } from '../../../infra/db/windows-session-rows.js';
import { stateLabelOfText, typeLabelOfText } from '../../../proto/session-labels.js';
import type { MachineDto, MachinesPageDto, WindowsSessionDto } from '../api-schemas.js';
import { MACHINES_PAGE_DEFAULT, type MachinesQuery, encodeMachinesCursor } from '../routes/machines-query.js';

/** Online means: not stopped, and a heartbeat within `offlineAfterBeats` intervals. */
export function isOnline(row: { state: string; last_seen: Date; heartbeat_interval_ms: number | string }, offlineAfterBeats: number, now = Date.now()): boolean {
  // bigint column (migration 0005): pg returns it as a string.
  return row.state === 'online' && now - row.last_seen.getTime() <= Number(row.heartbeat_interval_ms) * offlineAfterBeats;
}

type MachineRow = Selectable<MachinesTable>;

function machineDto(r: MachineRow, offlineAfterBeats: number, now: number): MachineDto {
  return {
    agent_id: r.agent_id,
    hostname: r.hostname,
    os_version: r.os_version,
    platform: r.platform,
    agent_version: r.agent_version,
    elevated: r.elevated,
    online: isOnline(r, offlineAfterBeats, now),
    last_seen: r.last_seen.toISOString(),
    session_count: Number(r.session_count),
    users: r.users,
    current_session_id: Number(r.current_session_id),
  };
}

export async function getMachine(db: Kysely<Database>, agentId: string, offlineAfterBeats: number): Promise<MachineDto | undefined> {
  const r = await db.selectFrom('machines').selectAll().where('agent_id', '=', agentId).executeTakeFirst();
  return r && machineDto(r, offlineAfterBeats, Date.now());
}

/** A text filter's matches are counted up to this many (then `matching_capped`). */
export const MATCHING_COUNT_CAP = 1000;

/**
 * The text filter as two disjoint conditions (migration 0009): a match in host name, agent id or OS
 * (trigram index on machines), else a match in a user (trigram index on machines_search_users). The
 * fields are joined by chr(1), which no filter contains, so a match never spans two fields or users.
 */
function textMatches(pattern: string): [RawBuilder<boolean>, RawBuilder<boolean>] {
  const host = sql<boolean>`(machines_host_search(hostname, agent_id, os_version) ilike ${pattern})`;
  return [host, sql<boolean>`(agent_id in (select u.agent_id from machines_search_users u where u.users ilike ${pattern}) and not ${host})`];
}

/** `q` as an ILIKE pattern matching it anywhere, its own `%`, `_` and `\` taken literally. */
const containsPattern = (q: string) => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * One page of the machines `only` lists ('*': all), in host name order, filtered on the server:
 * a keyset page (rows after the cursor, no OFFSET) and the header's counts, queried side by side.
 */
export async function listMachinesPage(db: Kysely<Database>, offlineAfterBeats: number, query: MachinesQuery, only: '*' | string[] = '*', now = Date.now()): Promise<MachinesPageDto> {
  if (only !== '*' && only.length === 0) return { machines: [], next_cursor: null, total: 0, online: 0, matching: 0, matching_capped: false };
  const limit = query.limit ?? MACHINES_PAGE_DEFAULT;
  // isOnline, in SQL and against the same clock: now - last_seen <= interval * beats.
  const online = sql<boolean>`(state = 'online' and last_seen >= ${new Date(now)}::timestamptz - heartbeat_interval_ms * ${offlineAfterBeats}::float8 * interval '1 millisecond')`;
  const status: RawBuilder<boolean>[] = [];
  if (query.status === 'online') status.push(online);
  if (query.status === 'offline') status.push(sql<boolean>`not ${online}`);
  const [first, second] = query.q ? textMatches(containsPattern(query.q)) : [sql<boolean>`true`, undefined];
  const cursor = query.cursor;
  /** The machines one text part matches, within the status filter and the user's grants. */
  const matchesOf = (text: RawBuilder<boolean>) => {
    let q = db.selectFrom('machines').where(text);
    for (const c of status) q = q.where(c);
    return only === '*' ? q : q.where('agent_id', 'in', only);
  };
  const rowsOf = (text: RawBuilder<boolean>) => {
    const q = matchesOf(text).selectAll();
    return (cursor ? q.where(({ eb, refTuple, tuple }) => eb(refTuple('hostname', 'agent_id'), '>', tuple(cursor.hostname, cursor.agentId))) : q)
      .orderBy('hostname')
      .orderBy('agent_id')
      .limit(limit + 1);
  };
  // Counted apart from the totals, so that a selective text filter is an index lookup, and only up to
  // a cap, so that a filter nearly everything matches does not fold the case of every row.
  const matchedOf = (text: RawBuilder<boolean>) =>
    matchesOf(text)
      .select('agent_id')
      .limit(MATCHING_COUNT_CAP + 1);
  // Each part in host name order with its own limit: the list order index answers a part that
  // matches much by reading one page of it, a selective part is a trigram lookup and a sort.
  const page = second ? sql<MachineRow>`(${rowsOf(first)}) union all (${rowsOf(second)}) order by hostname, agent_id limit ${limit + 1}`.execute(db).then((r) => r.rows) : rowsOf(first).execute();
  let counts = db.selectFrom('machines').select([sql<string>`count(*)`.as('total'), sql<string>`count(*) filter (where ${online})`.as('online')]);
  if (only !== '*') counts = counts.where('agent_id', 'in', only);
  const matching = second ? sql<{ n: string }>`select count(*) as n from ((${matchedOf(first)}) union all (${matchedOf(second)})) m`.execute(db).then((r) => r.rows[0]) : undefined;
  const [rows, c, m] = await Promise.all([page, counts.executeTakeFirstOrThrow(), matching]);
  const total = Number(c.total);
  const onlineCount = Number(c.online);
  // Without text, the status filter alone decides how many match.
  const matchingCount = m ? Math.min(Number(m.n), MATCHING_COUNT_CAP) : query.status === 'online' ? onlineCount : query.status === 'offline' ? total - onlineCount : total;
  const shown = rows.slice(0, limit);
  const last = shown[shown.length - 1];
  return {
    machines: shown.map((r) => machineDto(r, offlineAfterBeats, now)),
    next_cursor: rows.length > limit && last ? encodeMachinesCursor({ hostname: last.hostname, agentId: last.agent_id }) : null,
    total,
    online: onlineCount,
    matching: matchingCount,
    matching_capped: m !== undefined && Number(m.n) > MATCHING_COUNT_CAP,
  };
}

/** A windows_sessions row (stored, or shaped from a list heard live) as the API and the viewer page show it. */
export function windowsSessionDto(r: Omit<WindowsSessionFields, 'session_id' | 'idle_secs'> & { session_id: number | string; idle_secs: number | string }): WindowsSessionDto {
  return {
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
  };
}

export async function listWindowsSessions(db: Kysely<Database>, agentId: string): Promise<WindowsSessionDto[]> {
  const rows = await db.selectFrom('windows_sessions').selectAll().where('agent_id', '=', agentId).orderBy('session_id').execute();
  return rows.map(windowsSessionDto);
}
