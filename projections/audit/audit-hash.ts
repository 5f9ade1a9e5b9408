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

/**
 * Postgres text and jsonb refuse NUL; strip it (a command text could carry one). The result is what
 * a JSON round trip gives (Dates become ISO strings, undefined goes, non-finite numbers become null),
 * built by one walk: the round trip was the largest single cost of replay.
 */
export function cleanForJsonb<T>(v: T): T {
  return clean(v) as T;
}

function clean(x: unknown): unknown {
  switch (typeof x) {
    case 'string':
      return x.includes('\u0000') ? x.replaceAll('\u0000', '') : x;
    case 'number':
      return Number.isFinite(x) ? x + 0 : null;
    case 'boolean':
      return x;
    case 'bigint':
      throw new TypeError('Do not know how to serialize a BigInt');
    case 'object': {
      if (x === null) return null;
      const j = (x as { toJSON?: unknown }).toJSON;
      if (typeof j === 'function') return clean(j.call(x));
      if (Array.isArray(x)) return Array.from(x, (e) => clean(e) ?? null); // holes too, as JSON does
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(x)) {
        const c = clean((x as Record<string, unknown>)[k]);
        if (c === undefined) continue;
        if (k === '__proto__') Object.defineProperty(out, k, { value: c, enumerable: true, writable: true, configurable: true });
        else out[k] = c;
      }
      return out;
    }
    default:
      return undefined;
  }
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
