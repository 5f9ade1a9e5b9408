/** Human formatting of times, durations and sizes for dense tables. */

/** "12 s ago", "3 min ago", "2 h ago", or a date for older. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '—';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(t).toLocaleDateString();
}

/** Local date and time, "—" when missing. */
export function dateTime(iso: string | number | null | undefined): string {
  if (iso === null || iso === undefined || iso === '' || iso === 0) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '—' : d.toLocaleString();
}

/** "3d 4h", "5h 2m", "42s". */
export function duration(secs: number): string {
  if (!Number.isFinite(secs) || secs <= 0) return '0s';
  const d = Math.floor(secs / 86400);
  const hh = Math.floor((secs % 86400) / 3600);
  const m = Math.floor((secs % 3600) / 60);
  if (d > 0) return `${d}d ${hh}h`;
  if (hh > 0) return `${hh}h ${m}m`;
  if (m > 0) return `${m}m ${Math.floor(secs % 60)}s`;
  return `${Math.floor(secs)}s`;
}

/** KB count as "512 KB", "12.3 MB", "1.2 GB". */
export function kb(n: number): string {
  if (n < 1024) return `${Math.round(n)} KB`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} MB`;
  return `${(n / 1024 / 1024).toFixed(1)} GB`;
}

/** A short random id for request correlation. */
export function reqId(prefix = 'r'): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
}

/**
 * A JSON number that may have crossed the wire as a protobuf 64-bit value: a number, a decimal
 * string, or a Long-shaped {low, high}. Anything else is `dflt`.
 */
export function toNumber(v: unknown, dflt = 0): number {
  if (typeof v === 'number') return Number.isFinite(v) ? v : dflt;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : dflt;
  }
  if (v && typeof v === 'object' && 'low' in v && 'high' in v) {
    const { low, high } = v as { low: number; high: number };
    return (high >>> 0) * 0x1_0000_0000 + (low >>> 0);
  }
  return dflt;
}
