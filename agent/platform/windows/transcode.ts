/** Single-byte code page -> UTF-8 through MultiByteToWideChar (for OEM pages TextDecoder lacks). */
import { win32 } from './win32-api.js';

/** `bytes` in code page `cp` as UTF-8 bytes. Single-byte pages only: a chunk never splits a character. */
export function transcodeToUtf8(bytes: Uint8Array, cp: number): Uint8Array {
  if (bytes.length === 0) return bytes;
  const src = Buffer.from(bytes);
  const out = Buffer.alloc(src.length * 2);
  const n = win32().MultiByteToWideChar(cp, 0, src, src.length, out, src.length) as number;
  if (n <= 0) return bytes;
  return Buffer.from(out.toString('utf16le', 0, n * 2), 'utf8');
}
