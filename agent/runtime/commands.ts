/**
 * Receives commands on gc.cmd.<self>.>, checks them, drops repeats, and hands each to its handler.
 * Commands are live: one that arrives is run now; the agent never replays old ones. A stored
 * command (switch-session, backstage: also kept in the event stream, so it can be delivered again)
 * runs only if it is fresh (command-window.ts) and its id was never run, across restarts
 * (seen-store.ts); its id is written to the agent's log of them before it runs. A refused command is logged and counted, never
 * run and never answered: an answer would add stream rows whoever replayed it controls.
 */
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { type Decoded, Headers, decode } from '../../proto/codec.js';
import type { AgentId } from '../../proto/ids.js';
import { type Logger, withCorrelation } from '../../proto/log/logger.js';
import { AgentCommand, type PayloadCase, subjects } from '../../proto/subjects.js';
import { TIMING_WANTED, wallClockMs } from '../../proto/timing.js';
import { type CommandWindow, judgeAge } from './command-window.js';
import { createSeenCommands } from './seen-commands.js';
import type { Publisher } from './publisher.js';
import type { SeenStore } from './seen-store.js';

/** Runs one command; `log` carries the command id as its correlation id (and the payload case). */
export type CommandHandler = (msg: Decoded, log: Logger) => Promise<void> | void;

export interface CommandStats {
  received: number;
  rejected: number;
  duplicates: number;
  /** Stored commands refused: too old, dated ahead, or already run. */
  refused: number;
}

export interface CommandGuard {
  store: SeenStore;
  window: CommandWindow;
  now?: () => number;
}

/** Where a command that asks for Gc-Timing gets its stamps noted (the publisher puts them on its answers). */
type AnswerTimer = Pick<Publisher, 'timeAnswers'>;

/** Payloads of commands the event stream keeps (and so could deliver again). */
const STORED_PAYLOADS: ReadonlySet<PayloadCase> = new Set(
  Object.values(AgentCommand)
    .filter((c) => c.stored)
    .flatMap((c) => c.payloads),
);

/** Subscribes and dispatches by payload case; returns the subscription and live counters. */
export function listenForCommands(
  nc: NatsConnection,
  agentId: AgentId,
  handlers: Partial<Record<Decoded['payload'], CommandHandler>>,
  log: Logger,
  guard: CommandGuard,
  timer?: AnswerTimer,
): { sub: Subscription; stats: CommandStats } {
  const stats: CommandStats = { received: 0, rejected: 0, duplicates: 0, refused: 0 };
  const now = guard.now ?? Date.now;
  const seen = createSeenCommands();
  const commandLog = (msg: Decoded) => withCorrelation(log, msg.meta.id, { command: msg.payload });
  const refuse = (msg: Decoded, why: string) => {
    stats.refused++;
    commandLog(msg).warn(`refused stored command ${msg.meta.id} (${msg.payload}): ${why}; not run`);
  };
  const sub = nc.subscribe(subjects.commandsFor(agentId), {
    callback: (e, m) => {
      if (e) return log.error(`command subscription error: ${e.message}`);
      const receivedMs = wallClockMs();
      stats.received++;
      const r = decode(m.data, m.subject);
      if (!r.ok) {
        stats.rejected++;
        return log.warn({ error_code: r.error.code }, `rejected command on ${m.subject}: ${r.error.message}`);
      }
      const msg = r.value;
      const handler = handlers[msg.payload];
      const mlog = commandLog(msg);
      if (!handler) {
        stats.rejected++;
        return mlog.warn(`no handler for ${msg.payload}`);
      }
      const timed = timer && m.headers?.get(Headers.timing) === TIMING_WANTED;
      const run = () =>
        Promise.resolve()
          .then(() => {
            if (timed) timer.timeAnswers?.(msg.meta.id, receivedMs, wallClockMs());
            return handler(msg, mlog);
          })
          .catch((err) => mlog.error({ err }, `handler ${msg.payload} failed`));
      if (STORED_PAYLOADS.has(msg.payload)) {
        const atMs = Number(msg.meta.atMs ?? 0);
        const age = judgeAge(atMs, now(), guard.window);
        if (!age.fresh) return refuse(msg, `${age.reason}: ${age.message}`);
        if (atMs < guard.store.notBefore) return refuse(msg, `dated before ${new Date(guard.store.notBefore).toISOString()}, when this agent lost its record of the commands it ran`);
        // Checked, marked and written in one synchronous step: two deliveries of one id cannot both
        // pass, and a crash after running cannot let the same command in again.
        const first = guard.store.remember(msg.meta.id, atMs);
        if (!first.ok) return refuse(msg, `could not record its id (${first.error.message})`);
        if (!first.value) return refuse(msg, 'already run (replayed or delivered twice)');
        run();
        return;
      }
      // Input is a stream of events, not commands: ids repeat nothing and are not remembered.
      if (msg.payload !== 'input' && !seen.firstTime(msg.meta.id)) {
        stats.duplicates++;
        return;
      }
      run();
    },
  });
  return { sub, stats };
}
