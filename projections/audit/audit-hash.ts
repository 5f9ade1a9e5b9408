/** The tamper-evident chain: each row's hash covers the previous hash and the row's canonical content. */
import { createHash } from 'node:crypto';
import { pgJson } from '../../infra/db/pg-safe.js';
import type { AuditRow, ChainedAuditRow } from './audit-types.js';

export const GENESIS_HASH = '';

/** JSON with sorted keys and no undefined, so a jsonb round trip hashes the same. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v ?? null);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}

/**
 * The row as Postgres stores it (infra/db/pg-safe.ts: lone surrogates -> U+FFFD, no NUL, a jsonb
 * round trip's shape). The hash is computed over this cleaned row, so the projection and a replay
 * from the stream agree.
 */
export function cleanForJsonb<T>(v: T): T {
  return pgJson(v);
}

export function rowHash(prev: string, r: AuditRow): string {
  const content = canonicalJson([r.id, r.seq, r.session_id, r.user_id, r.user_name, r.agent_id, r.event_type, new Date(r.created_at).getTime(), r.correlation_id, r.details]);
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
