/** The dashboard's xterm.js terminals (Commands and Interactive shell): one look, and their text. */
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';

/** A terminal in the dashboard's style, opened in `el`, with its fit addon. */
export function openXterm(el: HTMLElement): { term: Terminal; fit: FitAddon } {
  const term = new Terminal({
    fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
    fontSize: 13,
    cursorBlink: true,
    scrollback: 5000,
    theme: { background: '#0f172a', foreground: '#e2e8f0', cursor: '#e2e8f0', selectionBackground: '#334155' },
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(el);
  return { term, fit };
}

/** The text a terminal shows (its whole buffer), as tests and copy-out read it. */
export function terminalText(term: Terminal): string {
  const buf = term.buffer.active;
  const out: string[] = [];
  for (let i = 0; i < buf.length; i++) out.push(buf.getLine(i)?.translateToString(true) ?? '');
  return out.join('\n').trimEnd();
}
