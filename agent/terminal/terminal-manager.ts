/**
 * Interactive backstage terminals, keyed by terminal id (Meta.correlation_id): open spawns a shell on
 * a pty, input and resize go to it, output is coalesced into TerminalOutput messages. The first
 * message says opened, the last says closed with the exit code. Idle terminals and every terminal at
 * shutdown are killed with their whole process tree.
 */
import type { Decoded } from '../../proto/codec.js';
import { ErrorCode, type GcError } from '../../proto/errors.js';
import { type Logger, withCorrelation } from '../../proto/log/logger.js';
import type { PtyProcess, SpawnPty } from './pty-types.js';
import type { PublishTerminal } from './terminal-publisher.js';

export interface TerminalManagerOptions {
  /** The platform's pty (ConPTY on Windows, `script` on Linux); absent: every open answers NOT_AVAILABLE. */
  spawnPty?: SpawnPty;
  publish: PublishTerminal;
  /** Closed after this long without input (default 30 min). */
  idleMs?: number;
  /**
   * Closed after this long without any message from its viewer, keep-alives (empty input) included:
   * the viewer's gateway went away (default TERMINAL_LEASE_MS).
   */
  leaseMs?: number;
  maxTerminals?: number;
  /** Output is gathered this long before it is sent (fewer, larger messages for fast output). */
  coalesceMs?: number;
  /** Largest data field per message. */
  chunkBytes?: number;
  /** The agent's logger; a terminal's lines carry its terminal id as the correlation id. */
  log: Logger;
}

export interface TerminalManager {
  /** The command handler for terminalOpen / terminalInput / terminalResize / terminalClose. */
  handle(msg: Decoded): Promise<void>;
  /** Kills every terminal (agent shutdown); resolves when their last messages went out. */
  closeAll(): Promise<void>;
  readonly open: number;
}

const DEFAULT_IDLE_MS = 30 * 60_000;
/** Three missed gateway keep-alives (one every 20 s). */
export const TERMINAL_LEASE_MS = 60_000;
const MAX_TERMINALS = 4;
export const NOT_AVAILABLE_MESSAGE = 'the interactive terminal is not available on this agent; use Commands mode';

interface Entry {
  id: string;
  pty?: PtyProcess;
  /** Input that arrived while the shell was starting, written once it runs. */
  queued: Uint8Array[];
  pendingSize?: { cols: number; rows: number };
  seq: number;
  out: Uint8Array[];
  outBytes: number;
  flushTimer?: NodeJS.Timeout;
  idleTimer?: NodeJS.Timeout;
  leaseTimer?: NodeJS.Timeout;
  /** Why the terminal is being closed by us (idle, close, shutdown), if it is. */
  closing?: GcError | 'requested';
  done: Promise<void>;
}

/** Builds the manager; one per agent. */
export function createTerminalManager(o: TerminalManagerOptions): TerminalManager {
  const idleMs = o.idleMs ?? DEFAULT_IDLE_MS;
  const leaseMs = o.leaseMs ?? TERMINAL_LEASE_MS;
  const max = o.maxTerminals ?? MAX_TERMINALS;
  const coalesceMs = o.coalesceMs ?? 15;
  const chunkBytes = o.chunkBytes ?? 64 * 1024;
  const terminals = new Map<string, Entry>();
  const refuse = (id: string, code: ErrorCode, message: string) => o.publish(id, { closed: true, exitCode: -1, error: { code, message } });

  const flush = (e: Entry) => {
    clearTimeout(e.flushTimer);
    e.flushTimer = undefined;
    if (e.outBytes === 0) return;
    const all = Buffer.concat(e.out);
    e.out = [];
    e.outBytes = 0;
    for (let at = 0; at < all.byteLength; at += chunkBytes) o.publish(e.id, { data: all.subarray(at, at + chunkBytes), seq: ++e.seq });
  };
  const touch = (e: Entry) => {
    clearTimeout(e.idleTimer);
    e.idleTimer = setTimeout(() => {
      e.closing = { code: ErrorCode.TIMEOUT, message: `closed after ${Math.round(idleMs / 60_000)} min without input` };
      void e.pty?.killTree();
    }, idleMs);
    e.idleTimer.unref();
  };
  const renew = (e: Entry) => {
    clearTimeout(e.leaseTimer);
    e.leaseTimer = setTimeout(() => {
      e.closing = { code: ErrorCode.TIMEOUT, message: `closed after ${Math.round(leaseMs / 1000)} s without a word from its viewer (the gateway went away)` };
      void e.pty?.killTree();
    }, leaseMs);
    e.leaseTimer.unref();
  };

  const open = async (msg: Decoded) => {
    const id = msg.meta.correlationId ?? '';
    const req = msg.terminalOpen!;
    if (!id) return o.log.warn({ command_id: msg.meta.id }, 'terminal open without a terminal id (correlation id) ignored');
    const tlog = withCorrelation(o.log, id);
    if (terminals.has(id)) return refuse(id, ErrorCode.CONFLICT, `terminal ${id} is already open`);
    if (!o.spawnPty) return refuse(id, ErrorCode.NOT_AVAILABLE, NOT_AVAILABLE_MESSAGE);
    if (terminals.size >= max) return refuse(id, ErrorCode.CAPACITY_EXCEEDED, `this agent already runs ${max} interactive terminals; close one first`);
    let release = () => {};
    const e: Entry = {
      id,
      queued: [],
      seq: 0,
      out: [],
      outBytes: 0,
      done: new Promise((r) => {
        release = r;
      }),
    };
    terminals.set(id, e);
    renew(e);
    const r = await o.spawnPty({ cols: req.cols ?? 80, rows: req.rows ?? 24, shell: req.shell ?? 0, asSessionId: req.asSessionId ?? 0 });
    if (!r.ok) {
      terminals.delete(id);
      clearTimeout(e.leaseTimer);
      release();
      return refuse(id, r.error.code, r.error.message);
    }
    const pty = r.value;
    e.pty = pty;
    o.publish(id, { opened: true, seq: ++e.seq, runAsUser: pty.runAsUser });
    tlog.info({ run_as: pty.runAsUser, pid: pty.pid }, `terminal opened as ${pty.runAsUser}`);
    pty.onData((b) => {
      e.out.push(b);
      e.outBytes += b.byteLength;
      if (e.outBytes >= chunkBytes) flush(e);
      else e.flushTimer ??= setTimeout(() => flush(e), coalesceMs);
    });
    if (e.closing) void pty.killTree();
    for (const b of e.queued.splice(0)) pty.write(b);
    if (e.pendingSize) void pty.resize(e.pendingSize.cols, e.pendingSize.rows);
    touch(e);
    void pty.exited.then(async ({ exitCode }) => {
      // The shell is gone; anything it left running in the background goes with it.
      await pty.killTree();
      flush(e);
      clearTimeout(e.idleTimer);
      clearTimeout(e.leaseTimer);
      terminals.delete(id);
      const why = e.closing && e.closing !== 'requested' ? e.closing : undefined;
      o.publish(id, { closed: true, seq: ++e.seq, exitCode, runAsUser: pty.runAsUser, ...(why ? { error: { code: why.code, message: why.message } } : {}) });
      tlog.info({ exit_code: exitCode, ...(why ? { error_code: why.code } : {}) }, `terminal closed${why ? `: ${why.message}` : ''}`);
      release();
    });
  };

  const entryOf = (msg: Decoded): Entry | undefined => {
    const id = msg.meta.correlationId ?? '';
    const e = terminals.get(id);
    if (!e && id) refuse(id, ErrorCode.NOT_FOUND, `no open terminal ${id}; open a new one`);
    return e;
  };

  return {
    async handle(msg) {
      if (msg.terminalOpen) return open(msg);
      const e = entryOf(msg);
      if (!e) return;
      renew(e);
      if (msg.terminalInput) {
        const data = msg.terminalInput.data ?? new Uint8Array();
        // Empty input is the gateway's keep-alive: it renews the lease, not the idle time.
        if (data.byteLength === 0) return;
        if (e.pty) e.pty.write(data);
        else e.queued.push(data);
        touch(e);
      } else if (msg.terminalResize) {
        const cols = msg.terminalResize.cols ?? 80;
        const rows = msg.terminalResize.rows ?? 24;
        if (!e.pty) e.pendingSize = { cols, rows };
        else {
          const r = await e.pty.resize(cols, rows);
          if (!r.ok) withCorrelation(o.log, e.id).warn({ error_code: r.error.code }, `terminal resize failed: ${r.error.message}`);
        }
      } else if (msg.terminalClose) {
        e.closing ??= 'requested';
        await e.pty?.killTree();
      }
    },
    async closeAll() {
      const all = [...terminals.values()];
      for (const e of all) {
        e.closing ??= { code: ErrorCode.CANCELLED, message: 'the agent is shutting down' };
        void e.pty?.killTree();
      }
      await Promise.all(all.map((e) => e.done));
    },
    get open() {
      return terminals.size;
    },
  };
}
