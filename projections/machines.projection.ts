/** machines: one row per agent from its status heartbeats and session lists. */
import type { Transaction } from 'kysely';
import type { Database } from '../infra/db/schema.js';
import { subjects } from '../proto/subjects.js';
import { type MachineState, foldMachines, machineStateOf, machinesToLoad } from './machines-evolve.js';
import type { DecodedEvent, ProjectionDef } from './runtime/types.js';
import { type Columns, anyOf, unnestInsert } from './runtime/unnest-insert.js';

const columns: Columns<MachineState> = {
  agent_id: 'text',
  hostname: 'text',
  os_version: 'text',
  platform: 'text',
  agent_version: 'text',
  elevated: 'bool',
  current_session_id: 'int8',
  session_count: 'int8',
  users: 'text[]',
  heartbeat_interval_ms: 'int8',
  state: 'text',
  first_seen: 'timestamptz',
  last_seen: 'timestamptz',
  last_seq: 'int8',
};

async function apply(trx: Transaction<Database>, events: DecodedEvent[]): Promise<void> {
  const ids = machinesToLoad(events);
  const loaded = ids.length > 0 ? await trx.selectFrom('machines').selectAll().where(anyOf('agent_id', ids)).execute() : [];
  const state = new Map<string, MachineState>(loaded.map((r) => [r.agent_id, machineStateOf(r)]));
  // Folded per key first: one upsert cannot touch a key twice, and a busy agent costs one row.
  const touched = foldMachines(state, events);
  if (touched.size === 0) return;
  // A stored row keeps its first_seen, and a row never goes back to an older event (the fold's own
  // rule, here for the rows it did not load).
  await unnestInsert(trx, {
    table: 'machines',
    rows: [...touched].map((id) => state.get(id)!),
    columns,
    upsertOn: ['agent_id'],
    keepOnConflict: ['first_seen'],
    onlyIfNewer: 'last_seq',
  });
}

/** Status and session lists live on gc.agent.<a>.status / .sessions (two-token tails do not match backstage.output). */
export const machinesProjection: ProjectionDef = {
  name: 'machines',
  filterSubject: subjects.agentEventsOneToken(),
  // The second is kept by machines' triggers (migration 0009); listed so a rebuild and a reset take it along.
  tables: ['machines', 'machines_search_users'],
  apply,
};
