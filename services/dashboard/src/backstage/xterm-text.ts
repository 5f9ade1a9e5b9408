/** The text an xterm.js terminal shows (its whole buffer), as tests and copy-out read it. */
import type { Terminal } from '@xterm/xterm';

export function terminalText(term: Terminal): string {
  const buf = term.buffer.active;
  const out: string[] = [];
  for (let i = 0; i < buf.length; i++) out.push(buf.getLine(i)?.translateToString(true) ?? '');
  return out.join('\n').trimEnd();
}
