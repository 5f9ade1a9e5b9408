/** Checks the Postgres audit log against the stream and its own hash chain. */
import type { NatsConnection } from '@nats-io/nats-core';
import type { Kysely } from 'kysely';
import type { Database } from '../../infra/db/schema.js';
import { GENESIS_HASH, canonicalJson, rowHash } from './audit-hash.js';
import type { AuditRow, ChainedAuditRow } from './audit-types.js';
import { replayAudit } from './replay.js';

export type FindingKind = 'missing' | 'extra' | 'altered' | 'chain_broken';

export interface Finding {
  kind: FindingKind;
  id: string;
  detail: string;
}

export interface VerifyResult {
  findings: Finding[];
  rowsChecked: number;
  checkpoint: number;
}

const FIELDS = ['seq', 'session_id', 'user_id', 'user_name', 'agent_id', 'event_type', 'created_at', 'correlation_id', 'details', 'hash'] as const;

function norm(r: ChainedAuditRow, f: (typeof FIELDS)[number]): string {
  const v = r[f];
  if (f === 'created_at') return String(new Date(v as Date).getTime());
  if (f === 'seq') return String(Number(v));
  return canonicalJson(v ?? null);
}

/** Rows missing, extra or altered compared with the stream (up to the audit checkpoint), and chain breaks. */
export async function verifyAudit(nc: NatsConnection, db: Kysely<Database>, onProgress?: (seq: number, last: number) => void): Promise<VerifyResult> {
  const checkpoint = Number((await db.selectFrom('projection_checkpoints').select('last_seq').where('name', '=', 'audit').executeTakeFirst())?.last_seq ?? 0);
  const expected = checkpoint > 0 ? (await replayAudit(nc, { toSeq: checkpoint, onProgress })).rows : [];
  const stored = (await db.selectFrom('events').selectAll().orderBy('seq').execute()).map((r) => ({ ...r, seq: Number(r.seq) }) as ChainedAuditRow);
  const findings: Finding[] = [];
  const byId = new Map(stored.map((r) => [r.id, r]));
  const expectedIds = new Set(expected.map((r) => r.id));
  for (const e of expected) {
    const s = byId.get(e.id);
    if (!s) { findings.push({ kind: 'missing', id: e.id, detail: `${e.event_type} at seq ${e.seq} is in the stream but not in Postgres` }); continue; }
    const diff = FIELDS.filter((f) => norm(s, f) !== norm(e, f));
    if (diff.length) findings.push({ kind: 'altered', id: e.id, detail: `differs from the stream in ${diff.join(', ')}` });
  }
  for (const s of stored) if (!expectedIds.has(s.id)) findings.push({ kind: 'extra', id: s.id, detail: `${s.event_type} at seq ${s.seq} has no source in the stream up to ${checkpoint}` });
  let prev = GENESIS_HASH;
  for (const s of stored) {
    const want = rowHash(prev, s as AuditRow);
    if (want !== s.hash) {
      findings.push({ kind: 'chain_broken', id: s.id, detail: `hash chain broken at seq ${s.seq}` });
    }
    prev = s.hash;
  }
  return { findings, rowsChecked: stored.length, checkpoint };
}
