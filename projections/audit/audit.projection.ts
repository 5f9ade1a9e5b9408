/** audit: the spec's `events` table, one chained row per audited fact (see audit-fold.ts). */
import type { Transaction } from 'kysely';
import type { Database } from '../../infra/db/schema.js';
import type { DecodedEvent, ProjectionDef } from '../runtime/types.js';
import { GENESIS_HASH, chain, cleanForJsonb } from './audit-hash.js';
import { auditKeys, foldAudit } from './audit-fold.js';
import type { AuditRow, AuditState } from './audit-types.js';

async function loadState(trx: Transaction<Database>, events: DecodedEvent[]): Promise<{ state: AuditState; commands: string[]; agents: string[] }> {
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
    commands.size ? trx.selectFrom('audit_pending').selectAll().where('command_id', 'in', [...commands]).execute() : [],
    rows.size ? trx.selectFrom('events').select('id').where('id', 'in', [...rows]).execute() : [],
    agents.size ? trx.selectFrom('audit_agents').selectAll().where('agent_id', 'in', [...agents]).execute() : [],
  ]);
  return {
    state: {
      pending: new Map(pending.map((p) => [p.command_id, { ...p, seq: Number(p.seq) }])),
      rowIds: new Set(existing.map((r) => r.id)),
      online: new Map(online.map((a) => [a.agent_id, a.online])),
    },
    commands: [...commands],
    agents: [...agents],
  };
}

async function apply(trx: Transaction<Database>, events: DecodedEvent[]): Promise<void> {
  const { state, commands, agents } = await loadState(trx, events);
  const drafts: AuditRow[] = [];
  for (const e of events) {
    const row = foldAudit(state, e);
    if (row) drafts.push(cleanForJsonb({ ...row, created_at: row.created_at }));
  }
  if (drafts.length > 0) {
    const head = await trx.selectFrom('events').select('hash').orderBy('seq', 'desc').limit(1).executeTakeFirst();
    const rows = chain(head?.hash ?? GENESIS_HASH, drafts.map((d) => ({ ...d, created_at: new Date(d.created_at) })));
    for (let i = 0; i < rows.length; i += 1000) {
      await trx.insertInto('events').values(rows.slice(i, i + 1000).map((r) => ({ ...r, details: JSON.stringify(r.details) as unknown as Record<string, unknown> }))).execute();
    }
  }
  if (commands.length > 0) {
    const open = commands.flatMap((c) => state.pending.get(c) ?? []);
    const closed = commands.filter((c) => !state.pending.has(c));
    if (closed.length) await trx.deleteFrom('audit_pending').where('command_id', 'in', closed).execute();
    if (open.length) {
      await trx.insertInto('audit_pending').values(open.map((p) => ({ ...cleanForJsonb(p), requested_at: p.requested_at, details: JSON.stringify(cleanForJsonb(p.details)) as unknown as Record<string, unknown> })))
        .onConflict((oc) => oc.column('command_id').doNothing()).execute();
    }
  }
  if (agents.length > 0) {
    const rows = agents.flatMap((a) => (state.online.has(a) ? [{ agent_id: a, online: state.online.get(a)! }] : []));
    if (rows.length) await trx.insertInto('audit_agents').values(rows).onConflict((oc) => oc.column('agent_id').doUpdateSet((eb) => ({ online: eb.ref('excluded.online') }))).execute();
  }
}

/** Commands, audit events and agent status are on different subjects: reads the whole stream. */
export const auditProjection: ProjectionDef = {
  name: 'audit',
  tables: ['events', 'audit_pending', 'audit_agents'],
  apply,
};
