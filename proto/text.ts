/** `s` cut to at most `max` UTF-16 units, never between the two halves of a surrogate pair. */
export function cutText(s: string, max: number): string {
  if (s.length <= max) return s;
  const c = s.charCodeAt(max - 1);
  return s.slice(0, max > 0 && c >= 0xd800 && c <= 0xdbff ? max - 1 : max);
}

/** NUL, or a UTF-16 surrogate without its other half: text PostgreSQL or the audit log cannot hold as it is. */
export const UNSAFE_TEXT = /\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** True when `s` holds neither NUL nor a lone surrogate. */
export const isSafeText = (s: string): boolean => !UNSAFE_TEXT.test(s);
