/** machines: one row per agent from its status heartbeats and session lists. */
import type { Transaction } from 'kysely';
import type { Database } from '../infra/db/schema.js';
import { subjects } from '../proto/subjects.js';
import { type MachineState, evolveMachine } from './machines-evolve.js';
import type { DecodedEvent, ProjectionDef } from './runtime/types.js';

async function apply(trx: Transaction<Database>, events: DecodedEvent[]): Promise<void> {
  const ids = [...new Set(events.flatMap((e) => (e.parsed.family === 'agent' ? [e.parsed.agentId as string] : [])))];
  if (ids.length === 0) return;
  const loaded = await trx.selectFrom('machines').selectAll().where('agent_id', 'in', ids).execute();
  const state = new Map<string, MachineState>(loaded.map((r) => [r.agent_id, { ...r, last_seq: Number(r.last_seq) }]));
  const touched = new Set<string>();
  // Fold the batch per key first: one upsert cannot touch a key twice.
  for (const e of events) {
    if (e.parsed.family !== 'agent') continue;
    const id = e.parsed.agentId as string;
    const prev = state.get(id);
    const next = evolveMachine(prev, e);
    if (next && next !== prev) { state.set(id, next); touched.add(id); }
  }
  if (touched.size === 0) return;
  const rows = [...touched].map((id) => state.get(id)!);
  await trx.insertInto('machines').values(rows).onConflict((oc) => oc.column('agent_id').doUpdateSet((eb) => ({
    hostname: eb.ref('excluded.hostname'), os_version: eb.ref('excluded.os_version'), platform: eb.ref('excluded.platform'),
    agent_version: eb.ref('excluded.agent_version'), elevated: eb.ref('excluded.elevated'),
    current_session_id: eb.ref('excluded.current_session_id'), session_count: eb.ref('excluded.session_count'),
    users: eb.ref('excluded.users'), heartbeat_interval_ms: eb.ref('excluded.heartbeat_interval_ms'),
    state: eb.ref('excluded.state'), first_seen: eb.ref('excluded.first_seen'), last_seen: eb.ref('excluded.last_seen'),
    last_seq: eb.ref('excluded.last_seq'),
  }))).execute();
}

/** Status and session lists live on gc.agent.<a>.status / .sessions (two-token tails do not match backstage.output). */
export const machinesProjection: ProjectionDef = {
  name: 'machines',
  filterSubject: subjects.agentEventsOneToken(),
  tables: ['machines'],
  apply,
};
