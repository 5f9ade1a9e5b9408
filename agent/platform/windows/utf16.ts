/** UTF-16LE helpers for Win32 "W" functions; pure, no DLL. */

/** A NUL-terminated UTF-16LE copy of `s`, for LPCWSTR / LPWSTR parameters. */
export function wide(s: string): Buffer {
  return Buffer.from(`${s}\0`, 'utf16le');
}

/** The UTF-16 string in `buf` at `offset`, up to the first NUL or `maxChars`. */
export function readWideIn(buf: Buffer, offset: number, maxChars: number): string {
  const end = Math.min(buf.length, offset + maxChars * 2);
  let i = offset;
  while (i + 1 < end && (buf[i] !== 0 || buf[i + 1] !== 0)) i += 2;
  return buf.toString('utf16le', offset, i);
}
