/**
 * The interactive backstage terminal of one viewer socket: at most one. Admin-only and only in
 * backstage mode for every message: the viewer decider checks both before handing one here.
 * Keystrokes and output pass through live (core NATS, correlated by a terminal id made here) and
 * are never stored; the audit log gets who opened it, as whom, and for how long.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import { type Decoded, type MessageInit, encode, message } from '../../../proto/codec.js';
import { ErrorCode } from '../../../proto/errors.js';
import { newId } from '../../../proto/ids.js';
import { subjects } from '../../../proto/subjects.js';
import type { AgentEvents } from '../bus/agent-events.js';
import { waitForAgentLoss } from '../bus/presence-wait.js';
import type { ViewerChannel } from './viewer-channel.js';
import type { TerminalMessage } from './viewer-decider.js';

export interface TerminalSocketDeps {
  nc: NatsConnection;
  events: AgentEvents;
  offlineAfterBeats: number;
  audit: (eventType: string, details?: Record<string, unknown>) => Promise<void>;
}

export interface TerminalSocket {
  handle(m: TerminalMessage): void;
  /** Closes the agent's terminal (socket closed, backstage exited). */
  close(reason: string): void;
}

/** How long the agent has to say the shell started before the viewer is told it did not. */
const OPEN_TIMEOUT_MS = 20_000;
/**
 * An empty TerminalInput this often tells the agent the viewer is still there; a gateway that dies
 * stops sending it and the agent ends the shell after its lease (agent/terminal TERMINAL_LEASE_MS).
 */
export const TERMINAL_KEEPALIVE_MS = 20_000;

interface Open {
  id: string;
  asSessionId: number;
  openedAt: number;
  runAsUser: string;
  started: boolean;
  decoder: TextDecoder;
  stop(): void;
}

/** One per viewer socket. */
export function createTerminalSocket(state: ViewerChannel, deps: TerminalSocketDeps): TerminalSocket {
  let term: Open | undefined;
  const publish = (id: string, payload: Omit<MessageInit, 'meta'>) =>
    deps.nc.publish(subjects.command(state.agentId, 'terminal'), encode(message(payload, { agentId: state.agentId, correlationId: id, actor: state.actor })));

  /** Ends our side once: audit the close of a terminal that ran, and stop listening. */
  const finish = (t: Open, reason: string, exitCode?: number) => {
    if (term !== t) return;
    term = undefined;
    t.stop();
    if (t.started) {
      void deps.audit('backstage_terminal_closed', {
        terminal_id: t.id,
        run_as_user: t.runAsUser,
        as_session_id: t.asSessionId,
        duration_ms: Date.now() - t.openedAt,
        reason,
        ...(exitCode !== undefined ? { exit_code: exitCode } : {}),
      });
    }
  };

  const onOutput = (t: Open, msg: Decoded) => {
    const o = msg.terminalOutput;
    if (!o || term !== t) return;
    if (o.opened) {
      t.started = true;
      t.openedAt = Date.now();
      t.runAsUser = o.runAsUser ?? '';
      state.send({ t: 'terminal.opened', run_as_user: t.runAsUser });
      void deps.audit('backstage_terminal_opened', { terminal_id: t.id, run_as_user: t.runAsUser, as_session_id: t.asSessionId });
    }
    // A multi-byte character split across two messages is completed by the streaming decoder.
    if (o.data && o.data.byteLength > 0) state.send({ t: 'terminal.output', data: t.decoder.decode(o.data, { stream: true }) });
    if (o.closed) {
      const rest = t.decoder.decode();
      if (rest) state.send({ t: 'terminal.output', data: rest });
      if (o.error?.code) state.error(o.error.code as ErrorCode, o.error.message ?? 'the terminal failed', 'terminal');
      state.send({ t: 'terminal.closed', exit_code: o.exitCode ?? -1, ...(o.error?.code ? { error_code: o.error.code } : {}) });
      finish(t, o.error?.code ? `error ${o.error.code}` : 'exited', o.exitCode ?? -1);
    }
  };

  const open = (m: Extract<TerminalMessage, { t: 'terminal.open' }>) => {
    if (term) return state.error(ErrorCode.CONFLICT, 'this viewer already has an interactive terminal; close it first', 'terminal');
    const t: Open = { id: newId(), asSessionId: m.as_session_id ?? 0, openedAt: Date.now(), runAsUser: '', started: false, decoder: new TextDecoder('utf-8'), stop: () => {} };
    term = t;
    const unlisten = deps.events.onCorrelation(state.agentId, t.id, (msg) => onOutput(t, msg));
    const presence = waitForAgentLoss(deps.events, state.agentId, deps.offlineAfterBeats);
    void presence.lost.then((loss) => {
      if (term !== t) return;
      state.error(ErrorCode.AGENT_OFFLINE, `the machine stopped answering (silent for ${loss.silentMs} ms); the terminal is gone`, 'terminal');
      state.send({ t: 'terminal.closed', exit_code: -1, error_code: ErrorCode.AGENT_OFFLINE });
      finish(t, 'agent offline');
    });
    const timer = setTimeout(() => {
      if (term !== t || t.started) return;
      publish(t.id, { terminalClose: {} });
      state.error(ErrorCode.TIMEOUT, `the agent did not start a shell within ${OPEN_TIMEOUT_MS / 1000} s`, 'terminal');
      state.send({ t: 'terminal.closed', exit_code: -1, error_code: ErrorCode.TIMEOUT });
      finish(t, 'open timed out');
    }, OPEN_TIMEOUT_MS);
    const keepalive = setInterval(() => publish(t.id, { terminalInput: { data: new Uint8Array() } }), TERMINAL_KEEPALIVE_MS);
    t.stop = () => {
      unlisten();
      presence.cancel();
      clearTimeout(timer);
      clearInterval(keepalive);
    };
    publish(t.id, { terminalOpen: { cols: m.cols, rows: m.rows, asSessionId: m.as_session_id ?? 0 } });
  };

  return {
    handle(m) {
      if (m.t === 'terminal.open') return open(m);
      if (!term) return state.error(ErrorCode.NOT_FOUND, 'no interactive terminal is open; open one first', 'terminal');
      const id = term.id;
      switch (m.t) {
        case 'terminal.input':
          return publish(id, { terminalInput: { data: new TextEncoder().encode(m.data) } });
        case 'terminal.resize':
          return publish(id, { terminalResize: { cols: m.cols, rows: m.rows } });
        case 'terminal.close':
          // The agent's closed message ends it (exit code, audit); until then input is still routed.
          return publish(id, { terminalClose: {} });
      }
    },
    close(reason) {
      const t = term;
      if (!t) return;
      publish(t.id, { terminalClose: {} });
      // We stop listening now, so the agent's own closed message would never reach the browser.
      state.send({ t: 'terminal.closed', exit_code: -1, reason });
      finish(t, reason);
    },
  };
}
