/** connect_sessions: viewer connections, their type and the Windows session each one watches. */
import type { Transaction } from 'kysely';
import type { Database } from '../infra/db/schema.js';
import { type ConnectSessionState, connectSessionKey, connectSessionStateOf, evolveConnectSession } from './connect-sessions-evolve.js';
import { AUDIT_PREFIX, AgentEvent } from '../proto/subjects.js';
import type { DecodedEvent, ProjectionDef } from './runtime/types.js';

async function apply(trx: Transaction<Database>, events: DecodedEvent[]): Promise<void> {
  const ids = [...new Set(events.flatMap((e) => connectSessionKey(e) ?? []))];
  if (ids.length === 0) return;
  const loaded = await trx.selectFrom('connect_sessions').selectAll().where('id', 'in', ids).execute();
  const state = new Map<string, ConnectSessionState>(loaded.map((r) => [r.id, connectSessionStateOf(r)]));
  const touched = new Set<string>();
  for (const e of events) {
    const id = connectSessionKey(e);
    if (!id) continue;
    const prev = state.get(id);
    const next = evolveConnectSession(prev, e);
    if (next && next !== prev) {
      state.set(id, next);
      touched.add(id);
    }
  }
  if (touched.size === 0) return;
  const rows = [...touched].map((id) => state.get(id)!);
  await trx
    .insertInto('connect_sessions')
    .values(rows)
    .onConflict((oc) =>
      oc.column('id').doUpdateSet((eb) => ({
        agent_id: eb.ref('excluded.agent_id'),
        user_id: eb.ref('excluded.user_id'),
        user_name: eb.ref('excluded.user_name'),
        windows_session_id: eb.ref('excluded.windows_session_id'),
        session_type: eb.ref('excluded.session_type'),
        started_at: eb.ref('excluded.started_at'),
        ended_at: eb.ref('excluded.ended_at'),
        last_seq: eb.ref('excluded.last_seq'),
      })),
    )
    .execute();
}

/** Needs gc.audit.> and gc.agent.*.switched: one filter on 2.9 cannot say both, so it reads the whole stream. */
export const connectSessionsProjection: ProjectionDef = {
  name: 'connect_sessions',
  // Heartbeats and session lists are most of the stream and never about a viewer.
  relevant: (subject) => subject.startsWith(`${AUDIT_PREFIX}.`) || subject.endsWith(`.${AgentEvent.switched.suffix}`),
  tables: ['connect_sessions'],
  apply,
};
