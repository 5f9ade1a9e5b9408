/**
 * Checks the Postgres audit log against the stream and its own hash chain, honouring retention.
 *
 * Postgres retention (retention-prune.ts) deletes a prefix of the chain and leaves an anchor: the
 * chain check starts from the newest anchor's hash at the first kept row, and rows at or below its
 * through_seq are not missing. Each anchor is itself checked against the stream: its hash must be
 * the chain hash the stream gives the row at through_seq, and every row it pruned must be older
 * than its cutoff. So deleting kept rows (with or without a forged anchor) stays evident.
 *
 * Stream retention: once the stream has aged out its first events (it starts at F > 1), the fold's
 * state before F (open commands, which agents were online) and the chain's hashes before F are
 * unknown. Then verify (1) still checks the whole Postgres chain from the anchor (or genesis),
 * (2) compares every row the stream fully determines (seq >= F) field by field, except the hash,
 * (3) reports rows missing or extra only where the stream can say so: rows whose content may hang on
 * events before F (a result whose request aged out, an agent's first status after F) are neither
 * compared nor reported missing, and stored rows older than F are counted as `unverifiable`, not
 * findings, and (4) checks each anchor's cutoff against what the stream still holds, but not its
 * hash.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import type { Kysely } from 'kysely';
import type { Database } from '../../infra/db/schema.js';
import type { EventsApiSubjects } from '../../proto/subjects.js';
import { streamState } from '../runtime/read-stream.js';
import { AUDIT_PROJECTION, quarantineRowId, quarantinedAudit } from './audit-quarantine.js';
import { GENESIS_HASH, canonicalJson, rowHash } from './audit-hash.js';
import type { AuditRow, ChainedAuditRow } from './audit-types.js';
import { type ReplayResult, replayAudit } from './replay.js';
import { type RetentionAnchor, retentionAnchors } from './retention-anchor.js';

export type FindingKind = 'missing' | 'extra' | 'altered' | 'chain_broken' | 'anchor_mismatch' | 'quarantined' | 'lagging';

export interface VerifyOptions {
  onProgress?: (seq: number, last: number) => void;
  /**
   * How long the audit checkpoint may stay behind the stream's last sequence before that is a
   * `lagging` finding (verify waits this long for it to catch up first). Default 10 s.
   */
  graceMs?: number;
  /** Where these credentials reach the stream (the readers' import for auditors). */
  api?: EventsApiSubjects;
}

export const DEFAULT_GRACE_MS = 10_000;

export interface Finding {
  kind: FindingKind;
  /** The row id, or `anchor@<through_seq>` for an anchor. */
  id: string;
  detail: string;
}

export interface VerifyResult {
  findings: Finding[];
  rowsChecked: number;
  checkpoint: number;
  /** First sequence the stream still holds (1 unless stream retention aged events out). */
  streamFirstSeq: number;
  /** Retention anchors, oldest first. */
  anchors: RetentionAnchor[];
  /** Stored rows older than the stream's first event: only the chain vouches for them. */
  unverifiable: number;
  /** What could not be checked, in words (for the CLI). */
  notes: string[];
}

const FIELDS = ['seq', 'session_id', 'user_id', 'user_name', 'agent_id', 'event_type', 'created_at', 'correlation_id', 'details', 'hash'] as const;
const CONTENT = FIELDS.filter((f) => f !== 'hash');

function norm(r: ChainedAuditRow, f: (typeof FIELDS)[number]): string {
  const v = r[f];
  if (f === 'created_at') return String(new Date(v as Date).getTime());
  if (f === 'seq') return String(Number(v));
  return canonicalJson(v ?? null);
}

const emptyReplay = (): ReplayResult => ({ rows: [], eventsRead: 0, undecodable: 0, lastSeq: 0, firstSeq: 1, uncertain: new Set() });

/** Each anchor against the rows the stream gives: the hash at through_seq, and nothing pruned inside its cutoff. */
function checkAnchors(anchors: RetentionAnchor[], r: ReplayResult, findings: Finding[], notes: string[]): void {
  const partial = r.firstSeq > 1;
  if (partial && anchors.length > 0) notes.push(`retention anchors' hashes are not checkable against the stream (it starts at seq ${r.firstSeq})`);
  // Rows and anchors are both in seq order: one walk (an hourly prune leaves thousands of anchors).
  let i = 0;
  for (const a of anchors) {
    const id = `anchor@${a.throughSeq}`;
    let atThrough: ChainedAuditRow | undefined;
    for (; i < r.rows.length && r.rows[i]!.seq <= a.throughSeq; i++) {
      const x = r.rows[i]!;
      if (x.seq === a.throughSeq) atThrough = x;
      if (r.uncertain.has(x.id) || new Date(x.created_at).getTime() < a.cutoff.getTime()) continue;
      findings.push({
        kind: 'anchor_mismatch',
        id,
        detail: `pruned row ${x.id} at seq ${x.seq} was created ${new Date(x.created_at).toISOString()}, inside the anchor's cutoff ${a.cutoff.toISOString()}`,
      });
    }
    if (partial) continue;
    if (!atThrough) findings.push({ kind: 'anchor_mismatch', id, detail: `the stream gives no audit row at seq ${a.throughSeq}, the last row this anchor says it pruned` });
    else if (atThrough.hash !== a.lastDeletedHash)
      findings.push({ kind: 'anchor_mismatch', id, detail: `last_deleted_hash differs from the chain hash the stream gives row ${atThrough.id} at seq ${a.throughSeq}` });
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function auditCheckpoint(db: Kysely<Database>): Promise<number> {
  return Number((await db.selectFrom('projection_checkpoints').select('last_seq').where('name', '=', AUDIT_PROJECTION).executeTakeFirst())?.last_seq ?? 0);
}

/**
 * The audit checkpoint once it reached the stream's last sequence, or after `graceMs` with a
 * `lagging` finding: a stuck projection means events missing from the log, which the comparison
 * (only up to the checkpoint) would never show.
 */
async function caughtUpCheckpoint(nc: NatsConnection, db: Kysely<Database>, graceMs: number, findings: Finding[], api?: EventsApiSubjects): Promise<number> {
  const state = await streamState(nc, api);
  if (!state.ok) throw new Error(state.error.message);
  const last = state.value.lastSeq;
  const until = Date.now() + graceMs;
  let checkpoint = await auditCheckpoint(db);
  while (checkpoint < last && Date.now() < until) {
    await sleep(Math.min(250, Math.max(1, until - Date.now())));
    checkpoint = await auditCheckpoint(db);
  }
  if (checkpoint < last) {
    findings.push({
      kind: 'lagging',
      id: AUDIT_PROJECTION,
      detail: `the audit checkpoint is at seq ${checkpoint}, ${last - checkpoint} events behind the stream's last seq ${last} after ${graceMs} ms: those events are not in the log (is the audit projection running? GET /api/health shows its lag and quarantine)`,
    });
  }
  return checkpoint;
}

/**
 * Rows missing, extra or altered compared with the stream (up to the audit checkpoint), chain
 * breaks, anchor mismatches, quarantined events (each one a finding: the log holds a stand-in row,
 * not the event) and a checkpoint lagging the stream.
 */
export async function verifyAudit(nc: NatsConnection, db: Kysely<Database>, opts: VerifyOptions | ((seq: number, last: number) => void) = {}): Promise<VerifyResult> {
  const o: VerifyOptions = typeof opts === 'function' ? { onProgress: opts } : opts;
  const findings: Finding[] = [];
  const checkpoint = await caughtUpCheckpoint(nc, db, o.graceMs ?? DEFAULT_GRACE_MS, findings, o.api);
  const anchors = await retentionAnchors(db);
  const through = anchors.at(-1)?.throughSeq ?? 0;
  const quarantined = await quarantinedAudit(db);
  for (const q of quarantined.values()) {
    if (q.seq <= checkpoint)
      findings.push({ kind: 'quarantined', id: quarantineRowId(q.seq), detail: `the event at seq ${q.seq} (${q.subject}, sha256 ${q.sha256}) could not be audited: ${q.errorCode} ${q.errorMessage}` });
  }
  const r = checkpoint > 0 ? await replayAudit(nc, { toSeq: checkpoint, onProgress: o.onProgress, quarantined, api: o.api }) : emptyReplay();
  const stored = (await db.selectFrom('events').selectAll().orderBy('seq').execute()).map((x) => ({ ...x, seq: Number(x.seq) }) as ChainedAuditRow);
  const partial = r.firstSeq > 1;
  const fields = partial ? CONTENT : FIELDS;
  const notes: string[] = [];
  const byId = new Map(stored.map((x) => [x.id, x]));
  const expectedIds = new Set(r.rows.map((x) => x.id));
  for (const e of r.rows) {
    const s = byId.get(e.id);
    const maybe = r.uncertain.has(e.id);
    if (!s) {
      if (e.seq > through && !maybe) findings.push({ kind: 'missing', id: e.id, detail: `${e.event_type} at seq ${e.seq} is in the stream but not in Postgres` });
      continue;
    }
    if (maybe) continue;
    const diff = fields.filter((f) => norm(s, f) !== norm(e, f));
    if (diff.length) findings.push({ kind: 'altered', id: e.id, detail: `differs from the stream in ${diff.join(', ')}` });
  }
  const uncertainCorrelations = new Set(r.rows.flatMap((x) => (r.uncertain.has(x.id) && x.correlation_id ? [x.correlation_id] : [])));
  let unverifiable = 0;
  for (const s of stored) {
    if (s.seq <= through)
      findings.push({ kind: 'anchor_mismatch', id: s.id, detail: `${s.event_type} at seq ${s.seq} is still stored although the retention anchor says every row through seq ${through} was pruned` });
    if (expectedIds.has(s.id)) continue;
    // A late result whose command row is older than the stream: the replay saw no row to be late for.
    const lateForAgedRow = partial && s.details.late === true && r.uncertain.has(s.correlation_id ?? '');
    // A command row whose request aged out: the replay has only the agent's result, as a row of its own.
    const closedByUncertain = partial && uncertainCorrelations.has(s.id);
    if (partial && s.seq < r.firstSeq) unverifiable++;
    else if (lateForAgedRow || closedByUncertain) continue;
    else findings.push({ kind: 'extra', id: s.id, detail: `${s.event_type} at seq ${s.seq} has no source in the stream up to ${checkpoint}` });
  }
  let prev = anchors.at(-1)?.lastDeletedHash ?? GENESIS_HASH;
  for (const s of stored) {
    if (rowHash(prev, s as AuditRow) !== s.hash) findings.push({ kind: 'chain_broken', id: s.id, detail: `hash chain broken at seq ${s.seq}` });
    prev = s.hash;
  }
  checkAnchors(anchors, r, findings, notes);
  if (partial)
    notes.push(
      `the stream starts at seq ${r.firstSeq}: ${unverifiable} older stored rows are vouched for by the hash chain only; ${r.uncertain.size} rows near that start may depend on aged-out events and were not compared`,
    );
  return { findings, rowsChecked: stored.length, checkpoint, streamFirstSeq: r.firstSeq, anchors, unverifiable, notes };
}
