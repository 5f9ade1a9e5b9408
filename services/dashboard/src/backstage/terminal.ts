/**
 * The backstage terminal: xterm with a local line editor (the agent runs whole commands, it has no
 * TTY), history on up/down, streamed output (stderr in red) and a status line per command. A line
 * ending in `&` runs in the background: the prompt comes back at once, its output is printed as one
 * block when it ends, and it can be cancelled on its own while other commands run.
 */
import { openXterm, terminalText } from './xterm.js';
import { reqId, toNumber } from '../format.js';

/** Numbers may arrive as protobuf Long objects (see toNumber). */
export interface DoneInfo {
  exit_code: unknown;
  duration_ms: unknown;
  truncated: boolean;
  timed_out: boolean;
  cancelled: boolean;
  output_bytes: unknown;
  run_as_user: string;
}

/** A command the agent is running for this terminal. */
export interface Job {
  id: string;
  /** Job number shown as [n]. */
  n: number;
  command: string;
  background: boolean;
  startedAt: number;
}

export interface BackstageTerminal {
  readonly running: string | undefined;
  /** Every running command, foreground first. */
  readonly jobs: Job[];
  cancel(id: string): void;
  chunk(id: string | undefined, stream: 'stdout' | 'stderr', data: string): void;
  done(id: string | undefined, info: DoneInfo, full: { stdout?: string; stderr?: string }): void;
  failed(id: string | undefined, code: string, message: string): boolean;
  /** Visible text of the terminal buffer (tests read it). */
  text(): string;
  focus(): void;
  fit(): void;
  dispose(): void;
}

const RED = '\x1b[31m';
const DIM = '\x1b[2m';
const GREEN = '\x1b[32m';
const BOLD = '\x1b[1m';
const RESET = '\x1b[0m';
const crlf = (s: string) => s.replace(/\r?\n/g, '\r\n');

/** A line that asks for the background: ends in one `&` (not `&&`). */
export function backgroundCommand(line: string): string | undefined {
  const m = /^(.*[^&])&\s*$/s.exec(line);
  return m ? m[1]!.trim() : undefined;
}

/** Mounts a terminal in `el`; `exec` sends a command, `cancel` a running one, `jobsChanged` follows the running set. */
export function createTerminal(
  el: HTMLElement,
  opts: {
    host: string;
    /** Who commands run as, shown in the prompt ("backstage" for the agent account). */
    who?(): string;
    exec(id: string, command: string): boolean;
    cancel(id: string): void;
    jobsChanged?(jobs: Job[]): void;
  },
): BackstageTerminal {
  const { term, fit } = openXterm(el);
  const history: string[] = [];
  let histPos = 0;
  let line = '';
  let cursor = 0;
  let running: string | undefined;
  let streamed = false;
  let jobNo = 0;
  const jobs = new Map<string, Job & { out: string }>();
  // Background results that end while a foreground command prints wait for its end.
  let held: string[] = [];
  const prompt = () => `${GREEN}${BOLD}${opts.who?.() ?? 'backstage'}@${opts.host}${RESET}> `;
  const jobList = () => [...jobs.values()].sort((a, b) => Number(b.id === running) - Number(a.id === running) || a.n - b.n).map(({ out: _o, ...j }) => j);
  const jobsChanged = () => opts.jobsChanged?.(jobList());

  const redraw = () => {
    term.write(`\r\x1b[K${prompt()}${line}`);
    const back = line.length - cursor;
    if (back > 0) term.write(`\x1b[${back}D`);
  };
  const newPrompt = () => {
    line = '';
    cursor = 0;
    histPos = history.length;
    term.write(`\r\n${prompt()}`);
  };
  const submit = () => {
    const cmd = line.trim();
    term.write('\r\n');
    if (!cmd) return void term.write(prompt());
    if (history[history.length - 1] !== cmd) history.push(cmd);
    histPos = history.length;
    if (cmd === 'clear' || cmd === 'cls') {
      term.clear();
      line = '';
      cursor = 0;
      return void term.write(`\r\x1b[K${prompt()}`);
    }
    const id = reqId('cmd');
    const bg = backgroundCommand(cmd);
    if (!opts.exec(id, bg ?? cmd)) {
      term.write(`${RED}not connected${RESET}`);
      return newPrompt();
    }
    const job = { id, n: ++jobNo, command: bg ?? cmd, background: bg !== undefined, startedAt: Date.now(), out: '' };
    jobs.set(id, job);
    jobsChanged();
    if (bg !== undefined) {
      term.write(`${DIM}[${job.n}] started in the background: ${bg}${RESET}`);
      return newPrompt();
    }
    running = id;
    streamed = false;
    line = '';
    cursor = 0;
  };
  /** Prints a finished background job as one block above the prompt line being edited. */
  const printBlock = (text: string) => {
    if (running) {
      held.push(text);
      return;
    }
    term.write(`\r\x1b[K${text}\r\n`);
    redraw();
  };
  const flushHeld = () => {
    const blocks = held;
    held = [];
    for (const b of blocks) printBlock(b);
  };
  const insert = (s: string) => {
    line = line.slice(0, cursor) + s + line.slice(cursor);
    cursor += s.length;
    redraw();
  };

  term.onData((data) => {
    if (running) {
      if (data === '\x03') {
        term.write(`${DIM}^C${RESET}`);
        opts.cancel(running);
      }
      return;
    }
    switch (data) {
      case '\r':
        return submit();
      case '\x7f':
      case '\b':
        if (cursor > 0) {
          line = line.slice(0, cursor - 1) + line.slice(cursor);
          cursor--;
          redraw();
        }
        return;
      case '\x1b[3~':
        line = line.slice(0, cursor) + line.slice(cursor + 1);
        return redraw();
      case '\x1b[D':
        if (cursor > 0) cursor--;
        return redraw();
      case '\x1b[C':
        if (cursor < line.length) cursor++;
        return redraw();
      case '\x1b[H':
      case '\x01':
        cursor = 0;
        return redraw();
      case '\x1b[F':
      case '\x05':
        cursor = line.length;
        return redraw();
      case '\x1b[A':
        if (histPos > 0) {
          histPos--;
          line = history[histPos] ?? '';
          cursor = line.length;
          redraw();
        }
        return;
      case '\x1b[B':
        if (histPos < history.length) {
          histPos++;
          line = history[histPos] ?? '';
          cursor = line.length;
          redraw();
        }
        return;
      case '\x03':
        term.write('^C');
        return newPrompt();
      case '\x15':
        line = '';
        cursor = 0;
        return redraw();
      case '\x0c':
        term.clear();
        return redraw();
    }
    if (data.startsWith('\x1b')) return;
    // Pasted text: run the first line, keep the rest out (a paste should not fire many commands).
    const [first, ...rest] = data.split(/\r\n|\r|\n/);
    insert([...(first ?? '')].filter((c) => c >= ' ').join(''));
    if (rest.length > 0) submit();
  });

  term.write(
    `${DIM}Backstage on ${opts.host}: commands run in the services session or as the user chosen in "Run as". End a line with & to run it in the background. Ctrl-C cancels, ↑/↓ history, "clear" clears.${RESET}\r\n${prompt()}`,
  );
  const status = (info: DoneInfo) => {
    const parts = [`exit ${toNumber(info.exit_code)}`, `${toNumber(info.duration_ms)} ms`];
    if (info.run_as_user) parts.push(`as ${info.run_as_user}`);
    if (info.truncated) parts.push(`truncated (${toNumber(info.output_bytes)} bytes produced)`);
    if (info.timed_out) parts.push('timed out');
    if (info.cancelled) parts.push('cancelled');
    const bad = toNumber(info.exit_code) !== 0 || info.timed_out || info.cancelled;
    return `${bad ? RED : DIM}[${parts.join(' · ')}]${RESET}`;
  };
  const finishJob = (id: string | undefined, text: (j: Job & { out: string }) => string): boolean => {
    const j = id ? jobs.get(id) : undefined;
    if (!j || j.id === running) return false;
    jobs.delete(j.id);
    jobsChanged();
    printBlock(text(j));
    return true;
  };
  const endLine = () => {
    const buf = term.buffer.active;
    if (buf.cursorX > 0) term.write('\r\n');
  };

  return {
    get running() {
      return running;
    },
    get jobs() {
      return jobList();
    },
    cancel(id) {
      if (jobs.has(id)) opts.cancel(id);
    },
    chunk(id, stream, data) {
      const j = id ? jobs.get(id) : undefined;
      if (j && id !== running) {
        j.out += stream === 'stderr' ? `${RED}${data}${RESET}` : data;
        return;
      }
      if (!running || id !== running) return;
      streamed = true;
      term.write(stream === 'stderr' ? `${RED}${crlf(data)}${RESET}` : crlf(data));
    },
    done(id, info, full) {
      if (
        finishJob(id, (j) => {
          const out = j.out || (full.stdout ?? '') + (full.stderr ? `${RED}${full.stderr}${RESET}` : '');
          const body = out ? `${crlf(out.endsWith('\n') ? out : `${out}\n`)}` : '';
          return `${DIM}[${j.n}] done: ${j.command}${RESET}\r\n${body}${status(info)}`;
        })
      )
        return;
      if (!running || id !== running) return;
      if (!streamed) {
        if (full.stdout) term.write(crlf(full.stdout));
        if (full.stderr) term.write(`${RED}${crlf(full.stderr)}${RESET}`);
      }
      jobs.delete(running);
      running = undefined;
      jobsChanged();
      endLine();
      term.write(status(info));
      newPrompt();
      flushHeld();
    },
    failed(id, code, message) {
      if (finishJob(id, (j) => `${RED}[${j.n}] ${j.command}: ${code}: ${message}${RESET}`)) return true;
      if (!running || id !== running) return false;
      jobs.delete(running);
      running = undefined;
      jobsChanged();
      endLine();
      term.write(`${RED}${code}: ${message}${RESET}`);
      newPrompt();
      flushHeld();
      return true;
    },
    text: () => terminalText(term),
    focus: () => term.focus(),
    fit: () => {
      try {
        fit.fit();
      } catch {
        // Not laid out yet (hidden): the next resize fits it.
      }
    },
    dispose: () => term.dispose(),
  };
}
