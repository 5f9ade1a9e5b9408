/** The tamper-evident chain: each row's hash covers the previous hash and the row's canonical content. */
import { createHash } from 'node:crypto';
import type { AuditRow, ChainedAuditRow } from './audit-types.js';

export const GENESIS_HASH = '';

/** JSON with sorted keys and no undefined, so a jsonb round trip hashes the same. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v ?? null);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}

/** Postgres text and jsonb refuse NUL; strip it (a command text could carry one). */
export function cleanForJsonb<T>(v: T): T {
  return JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'string' ? x.replaceAll('\u0000', '') : x))) as T;
}

export function rowHash(prev: string, r: AuditRow): string {
  const content = canonicalJson([
    r.id, r.seq, r.session_id, r.user_id, r.user_name, r.agent_id, r.event_type,
    new Date(r.created_at).getTime(), r.correlation_id, r.details,
  ]);
  return createHash('sha256').update(prev).update('\n').update(content).digest('hex');
}

/** Chains rows (in seq order) onto `head`. */
export function chain(head: string, rows: AuditRow[]): ChainedAuditRow[] {
  let prev = head;
  return rows.map((r) => {
    prev = rowHash(prev, r);
    return { ...r, hash: prev };
  });
}
