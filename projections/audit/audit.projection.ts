/** audit: the spec's `events` table, one chained row per audited fact (see audit-fold.ts). */
import type { Transaction } from 'kysely';
import type { Database } from '../../infra/db/schema.js';
import { AgentEvent } from '../../proto/subjects.js';
import type { DecodedEvent, ProjectionDef, QuarantinedEvent } from '../runtime/types.js';
import { quarantineRow } from './audit-quarantine.js';
import { GENESIS_HASH, chain, cleanForJsonb } from './audit-hash.js';
import { auditKeys, foldAudit } from './audit-fold.js';
import type { AuditRow, AuditState, ChainedAuditRow, PendingCommand } from './audit-types.js';
import { latestAnchor } from './retention-anchor.js';
import { type Columns, anyOf, unnestInsert } from '../runtime/unnest-insert.js';

const eventColumns: Columns<ChainedAuditRow> = {
  id: 'text',
  seq: 'int8',
  session_id: 'text',
  user_id: 'text',
  user_name: 'text',
  agent_id: 'text',
  event_type: 'text',
  details: 'jsonb',
  created_at: 'timestamptz',
  correlation_id: 'text',
  hash: 'text',
};
const pendingColumns: Columns<PendingCommand> = {
  command_id: 'text',
  seq: 'int8',
  agent_id: 'text',
  event_type: 'text',
  user_id: 'text',
  user_name: 'text',
  session_id: 'text',
  requested_at: 'timestamptz',
  details: 'jsonb',
};

async function loadState(trx: Transaction<Database>, events: DecodedEvent[]): Promise<{ state: AuditState; commands: string[]; agents: string[]; wasOnline: Map<string, boolean> }> {
  const commands = new Set<string>();
  const rows = new Set<string>();
  const agents = new Set<string>();
  for (const e of events) {
    const k = auditKeys(e);
    for (const c of k.commands) commands.add(c);
    for (const r of k.rows) rows.add(r);
    for (const a of k.agents) agents.add(a);
  }
  const [pending, existing, online] = await Promise.all([
    commands.size
      ? trx
          .selectFrom('audit_pending')
          .selectAll()
          .where(anyOf('command_id', [...commands]))
          .execute()
      : [],
    rows.size
      ? trx
          .selectFrom('events')
          .select('id')
          .where(anyOf('id', [...rows]))
          .execute()
      : [],
    agents.size
      ? trx
          .selectFrom('audit_agents')
          .selectAll()
          .where(anyOf('agent_id', [...agents]))
          .execute()
      : [],
  ]);
  return {
    state: {
      pending: new Map(pending.map((p) => [p.command_id, { ...p, seq: Number(p.seq) }])),
      rowIds: new Set(existing.map((r) => r.id)),
      online: new Map(online.map((a) => [a.agent_id, a.online])),
    },
    commands: [...commands],
    agents: [...agents],
    wasOnline: new Map(online.map((a) => [a.agent_id, a.online])),
  };
}

/**
 * The hash the next row chains onto: the newest row's, or — when retention pruned every row — the
 * anchor's, but only for rows after it (a rebuild's shadow table starts empty and from genesis).
 */
async function chainHead(trx: Transaction<Database>, nextSeq: number): Promise<string> {
  const head = await trx.selectFrom('events').select('hash').orderBy('seq', 'desc').limit(1).executeTakeFirst();
  if (head) return head.hash;
  const anchor = await latestAnchor(trx);
  return anchor && anchor.throughSeq < nextSeq ? anchor.lastDeletedHash : GENESIS_HASH;
}

async function apply(trx: Transaction<Database>, events: DecodedEvent[]): Promise<void> {
  const { state, commands, agents, wasOnline } = await loadState(trx, events);
  const drafts: AuditRow[] = [];
  for (const e of events) {
    const row = foldAudit(state, e);
    if (row) drafts.push(cleanForJsonb({ ...row, created_at: row.created_at }));
  }
  if (drafts.length > 0) {
    const rows = chain(
      await chainHead(trx, drafts[0]!.seq),
      drafts.map((d) => ({ ...d, created_at: new Date(d.created_at) })),
    );
    await unnestInsert(trx, { table: 'events', rows, columns: eventColumns });
  }
  if (commands.length > 0) {
    const open = commands.flatMap((c) => state.pending.get(c) ?? []);
    const closed = commands.filter((c) => !state.pending.has(c));
    if (closed.length) await trx.deleteFrom('audit_pending').where(anyOf('command_id', closed)).execute();
    if (open.length) {
      await unnestInsert(trx, { table: 'audit_pending', rows: open.map((p) => ({ ...cleanForJsonb(p), requested_at: p.requested_at })), columns: pendingColumns, ignoreOn: ['command_id'] });
    }
  }
  if (agents.length > 0) {
    // Only flips: every heartbeat names its agent, but few change whether it is online.
    const rows = agents.flatMap((a) => (state.online.has(a) && state.online.get(a) !== wasOnline.get(a) ? [{ agent_id: a, online: state.online.get(a)! }] : []));
    if (rows.length) await unnestInsert(trx, { table: 'audit_agents', rows, columns: { agent_id: 'text', online: 'bool' }, upsertOn: ['agent_id'] });
  }
}

/** The chained row standing for a quarantined event, in the transaction that quarantines it. */
async function quarantined(trx: Transaction<Database>, q: QuarantinedEvent): Promise<void> {
  const draft = cleanForJsonb(quarantineRow(q));
  const rows = chain(await chainHead(trx, q.seq), [{ ...draft, created_at: new Date(draft.created_at) }]);
  await unnestInsert(trx, { table: 'events', rows, columns: eventColumns });
}

/** Commands, audit events and agent status are on different subjects: reads the whole stream. */
export const auditProjection: ProjectionDef = {
  name: 'audit',
  // Session lists say nothing the audit log records (status heartbeats do: online/offline).
  relevant: (subject) => !subject.endsWith(`.${AgentEvent.sessions.suffix}`),
  tables: ['events', 'audit_pending', 'audit_agents'],
  apply,
  quarantined,
};
