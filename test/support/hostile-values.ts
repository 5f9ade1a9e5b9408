/**
 * The hostile values every boundary is tried with (see the developers' guide): one list, so the
 * route sweep and the sweeps of routes that need a set-up of their own try the same things.
 */

export const hostileStrings = [
  '\ud800',
  'x\udfffy',
  'a\u0000b',
  'x'.repeat(100_000),
  '',
  ' ',
  '..%2f..%2fetc%2fpasswd',
  '*',
  '>',
  'a.b',
  '$SYS',
  '_INBOX.x',
  'gateway',
  'projections',
  'other-admin',
  '\u001b[2J',
];
export const hostileNumbers = [0, -1, 2 ** 31 - 1, 2 ** 32 - 1, 2 ** 53 + 1, 1.5, -0.5, 1e308];
export const hostileTimestamps = ['0001-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '+275760-09-13T00:00:00.000Z', '-271821-04-20T00:00:00Z', '1970-01-01T00:00:00Z'];
export const wrongJsonTypes = [null, true, [], {}, ['x'], { $gt: '' }];
/** Raw JSON number texts a serializer would never write: 2^63-1 and beyond lose precision on parse. */
export const rawJsonNumbers = ['9223372036854775807', '18446744073709551615', '-9223372036854775808', '1e400'];

/** Path and query values as raw (already percent-encoded) text; a lone surrogate is its invalid UTF-8 bytes. */
export const hostileUrlTexts = [
  ...hostileStrings.map((s) => (s === '\ud800' ? '%ED%A0%80' : s === 'x\udfffy' ? 'x%ED%BF%BFy' : encodeURIComponent(s))),
  ...hostileNumbers.map(String),
  ...rawJsonNumbers,
  ...hostileTimestamps.map(encodeURIComponent),
  '%',
  '%zz',
  '%00',
];

/** JSON texts of `base` with `key` replaced by each hostile value, then the key given twice. */
export function hostileBodies(base: Record<string, unknown>, key: string): string[] {
  const k = JSON.stringify(key);
  return [
    ...[...hostileStrings, ...hostileNumbers, ...hostileTimestamps, ...wrongJsonTypes].map((v) => JSON.stringify({ ...base, [key]: v })),
    ...rawJsonNumbers.map((n) => JSON.stringify({ ...base, [key]: 0 }).replace(`${k}:0`, `${k}:${n}`)),
    // The same field twice: the parser keeps one, and never both halves of a check.
    JSON.stringify(base).replace(/^\{/, `{${k}:"a",${k}:"\\u0000",`).replace(/,\}$/, '}'),
  ];
}

/** Whole bodies of the wrong shape, and prototype-pollution attempts. */
export const hostileWholeBodies = ['[]', 'null', '"x"', '1', `{"__proto__":{"role":"admin"}}`, `{"constructor":{"prototype":{"admin":true}}}`];
