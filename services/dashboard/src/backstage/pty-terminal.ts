/**
 * The interactive shell of backstage: xterm in raw mode on a real pty of the agent. Every keystroke
 * goes to the shell as is and its output is written as is, so the working directory, environment,
 * full-screen programs and password prompts work. The size follows the panel (fit addon).
 */
import { openXterm, terminalText } from './xterm.js';
import { toNumber } from '../format.js';
import type { ServerMessage } from '../types.js';
import type { ClientMessage } from '../viewer/viewer-connection.js';

export interface PtyTerminal {
  /** Opens a shell unless one is open or opening. */
  start(): void;
  /** Ends the shell (the agent kills its whole tree). */
  close(): void;
  readonly state: 'idle' | 'opening' | 'open';
  /** Handles terminal.* messages and errors of the terminal; true when it was for it. */
  handle(m: ServerMessage): boolean;
  text(): string;
  focus(): void;
  fit(): void;
  dispose(): void;
}

/** Longest terminal.input text the gateway accepts (protocol.ts MAX_TERMINAL_INPUT_CHARS). */
const MAX_INPUT_CHARS = 4096;
const DIM = '\x1b[2m';
const RED = '\x1b[31m';
const RESET = '\x1b[0m';

/** Mounts the shell terminal in `el`; `asSessionId` is read when a shell opens ("Run as"). */
export function createPtyTerminal(el: HTMLElement, opts: { send(m: ClientMessage): boolean; asSessionId(): number; stateChanged?(s: PtyTerminal['state']): void }): PtyTerminal {
  const { term, fit } = openXterm(el);
  let state: PtyTerminal['state'] = 'idle';
  const setState = (s: PtyTerminal['state']) => {
    state = s;
    el.dataset['state'] = s;
    opts.stateChanged?.(s);
  };
  const doFit = () => {
    try {
      fit.fit();
    } catch {
      // Not laid out yet (hidden): the next resize fits it.
    }
  };
  const start = () => {
    if (state !== 'idle') return;
    doFit();
    const as = opts.asSessionId();
    if (!opts.send({ t: 'terminal.open', cols: term.cols, rows: term.rows, ...(as ? { as_session_id: as } : {}) })) {
      term.write(`${RED}not connected${RESET}\r\n`);
      return;
    }
    term.write(`${DIM}Starting a shell…${RESET}\r\n`);
    setState('opening');
  };
  const ended = (line: string) => {
    setState('idle');
    term.write(`\r\n${line}\r\n${DIM}Press Enter for a new shell.${RESET}\r\n`);
  };

  term.onData((data) => {
    if (state === 'idle') {
      if (data === '\r') start();
      return;
    }
    if (state !== 'open') return;
    // A long paste goes in pieces the gateway accepts, in order on the one socket.
    for (let at = 0; at < data.length; at += MAX_INPUT_CHARS) opts.send({ t: 'terminal.input', data: data.slice(at, at + MAX_INPUT_CHARS) });
  });
  term.onResize(({ cols, rows }) => {
    if (state === 'open') opts.send({ t: 'terminal.resize', cols, rows });
  });
  el.dataset['state'] = state;

  return {
    start,
    close() {
      if (state !== 'idle') opts.send({ t: 'terminal.close' });
    },
    get state() {
      return state;
    },
    handle(m) {
      switch (m.t) {
        case 'terminal.opened':
          setState('open');
          term.write(`${DIM}Interactive shell as ${m.run_as_user}. Ctrl-D or "exit" ends it.${RESET}\r\n`);
          // The panel may have changed size while the shell started.
          opts.send({ t: 'terminal.resize', cols: term.cols, rows: term.rows });
          term.focus();
          return true;
        case 'terminal.output':
          term.write(m.data);
          return true;
        case 'terminal.closed':
          if (state !== 'idle') ended(`${DIM}[shell ended · exit ${toNumber(m.exit_code)}${m.error_code ? ` · ${m.error_code}` : ''}]${RESET}`);
          return true;
        case 'error':
          if (m.req !== 'terminal') return false;
          term.write(`\r\n${RED}${m.error_code}: ${m.message}${RESET}\r\n`);
          if (state === 'opening') setState('idle');
          return true;
        default:
          return false;
      }
    },
    text: () => terminalText(term),
    focus: () => term.focus(),
    fit: doFit,
    dispose: () => term.dispose(),
  };
}
