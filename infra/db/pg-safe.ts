/**
 * The one sanitising boundary for values that reach PostgreSQL, from any producer (projections, the
 * gateway, the auth service). Postgres text refuses NUL, and its json parser refuses a lone UTF-16
 * surrogate (JSON.stringify writes it as `\ud800`, "invalid input syntax for type json"): a value
 * written as is would fail on every retry. Both are deterministic and meaningless in names, paths
 * and command text, so lone surrogates become U+FFFD and NUL is removed, everywhere, the same way.
 */

// Node 20 has String.prototype.toWellFormed; the project's TypeScript lib (ES2023) does not declare it.
type WellFormable = string & { toWellFormed(): string };

/** Whether a string needs cleaning: a NUL or a (possibly lone) surrogate; one scan, no allocation. */
function dirty(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || (c >= 0xd800 && c <= 0xdfff)) return true;
  }
  return false;
}

/** Text as Postgres stores it: lone surrogates -> U+FFFD, NUL removed; null/undefined -> ''. */
export function pgText(s: string | null | undefined): string {
  const v = s ?? '';
  if (!dirty(v)) return v;
  return (v as WellFormable).toWellFormed().replaceAll('\u0000', '');
}

/** pgText for a nullable column: null stays null. */
export function pgTextOrNull(s: string | null | undefined): string | null {
  return s === null || s === undefined ? null : pgText(s);
}

/**
 * A JSON value as a jsonb round trip gives it, with every string (keys too) through pgText: Dates
 * become ISO strings, undefined goes, non-finite numbers become null. One walk, no stringify/parse
 * (the round trip was the largest single cost of the audit replay).
 */
export function pgJson<T>(v: T): T {
  return clean(v) as T;
}

function clean(x: unknown): unknown {
  switch (typeof x) {
    case 'string':
      return pgText(x);
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
      for (const key of Object.keys(x)) {
        const c = clean((x as Record<string, unknown>)[key]);
        if (c === undefined) continue;
        const k = pgText(key);
        if (k === '__proto__') Object.defineProperty(out, k, { value: c, enumerable: true, writable: true, configurable: true });
        else out[k] = c;
      }
      return out;
    }
    default:
      return undefined;
  }
}
