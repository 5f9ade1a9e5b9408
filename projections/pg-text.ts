/**
 * Text as PostgreSQL can store it. A text column refuses the NUL character, and an agent (buggy or
 * hostile) may send one in a user or host name: written as is, the batch would fail on every retry
 * and the projection would stall forever behind it. NUL carries no meaning in these names.
 */
export function pgText(s: string | null | undefined): string {
  const v = s ?? '';
  return v.includes('\u0000') ? v.replaceAll('\u0000', '') : v;
}
