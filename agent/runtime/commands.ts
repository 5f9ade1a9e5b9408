/**
 * Receives commands on gc.cmd.<self>.>, checks them, drops repeats, and hands each to its handler.
 * Commands are live: one that arrives is run now; the agent never replays old ones.
 */
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import { type Decoded, decode } from '../../proto/codec.js';
import type { AgentId } from '../../proto/ids.js';
import { subjects } from '../../proto/subjects.js';
import { createSeenCommands } from './seen-commands.js';

export type CommandHandler = (msg: Decoded) => Promise<void> | void;

export interface CommandStats {
  received: number;
  rejected: number;
  duplicates: number;
}

/** Subscribes and dispatches by payload case; returns the subscription and live counters. */
export function listenForCommands(
  nc: NatsConnection,
  agentId: AgentId,
  handlers: Partial<Record<Decoded['payload'], CommandHandler>>,
  log: (msg: string) => void,
): { sub: Subscription; stats: CommandStats } {
  const stats: CommandStats = { received: 0, rejected: 0, duplicates: 0 };
  const seen = createSeenCommands();
  const sub = nc.subscribe(subjects.commandsFor(agentId), {
    callback: (e, m) => {
      if (e) return log(`command subscription error: ${e.message}`);
      stats.received++;
      const r = decode(m.data, m.subject);
      if (!r.ok) {
        stats.rejected++;
        return log(`rejected command on ${m.subject}: ${r.error.code} ${r.error.message}`);
      }
      const msg = r.value;
      // Input is a stream of events, not commands: ids repeat nothing and are not remembered.
      if (msg.payload !== 'input' && !seen.firstTime(msg.meta.id)) {
        stats.duplicates++;
        return;
      }
      const handler = handlers[msg.payload];
      if (!handler) {
        stats.rejected++;
        return log(`no handler for ${msg.payload}`);
      }
      Promise.resolve()
        .then(() => handler(msg))
        .catch((err) => log(`handler ${msg.payload} failed: ${(err as Error).stack ?? err}`));
    },
  });
  return { sub, stats };
}
