/** The session cookie: read from the Cookie header, written HttpOnly + SameSite=Strict. */

export const SESSION_COOKIE = 'gc_session';

/** Value of cookie `name` in a Cookie header, or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const raw = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(raw);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Set-Cookie value for the session token (maxAgeSecs 0 clears it). */
export function sessionCookie(token: string, maxAgeSecs: number, secure: boolean): string {
  const attrs = [`${SESSION_COOKIE}=${encodeURIComponent(token)}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${maxAgeSecs}`];
  if (secure) attrs.push('Secure');
  return attrs.join('; ');
}
