/** `s` cut to at most `max` UTF-16 units, never between the two halves of a surrogate pair. */
export function cutText(s: string, max: number): string {
  if (s.length <= max) return s;
  const c = s.charCodeAt(max - 1);
  return s.slice(0, max > 0 && c >= 0xd800 && c <= 0xdbff ? max - 1 : max);
}
