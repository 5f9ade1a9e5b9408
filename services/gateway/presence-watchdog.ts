/**
 * Notices machines whose heartbeats stopped and records `agent_offline` in the audit stream. The
 * event id is derived (keyed, see bus/event-ids.ts) from the agent and its last heartbeat, so several
 * gateways record it once and the silent agent cannot pre-empt it with the same id.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import type { Kysely } from 'kysely';
import { encode, message } from '../../proto/codec.js';
import { subjects } from '../../proto/subjects.js';
import { type EventIds, processEventIds } from './bus/event-ids.js';
import type { Database } from '../../infra/db/schema.js';
import { isOnline } from './read/machines.js';

export interface PresenceWatchdog {
  stop(): void;
}

export function startPresenceWatchdog(
  db: Kysely<Database>,
  js: JetStreamClient,
  opts: { offlineAfterBeats: number; everyMs?: number; eventIds?: EventIds; log: (m: string) => void },
): PresenceWatchdog {
  const reported = new Set<string>();
  const eventIds = opts.eventIds ?? processEventIds();
  const check = async () => {
    const rows = await db.selectFrom('machines').select(['agent_id', 'state', 'last_seen', 'heartbeat_interval_ms']).where('state', '=', 'online').execute();
    for (const r of rows) {
      const key = `${r.agent_id}:${r.last_seen.getTime()}`;
      if (isOnline(r, opts.offlineAfterBeats) || reported.has(key)) continue;
      const msg = message(
        { audit: { eventType: 'agent_offline', detailsJson: JSON.stringify({ last_seen: r.last_seen.toISOString(), reason: 'heartbeat timeout' }) } },
        { id: eventIds.agentOffline(r.agent_id, r.last_seen.getTime()), agentId: r.agent_id },
      );
      await js.publish(subjects.audit('agent_offline'), encode(msg), { msgID: msg.meta!.id! });
      reported.add(key);
      opts.log(`agent ${r.agent_id} went offline (last heartbeat ${r.last_seen.toISOString()})`);
    }
  };
  const timer = setInterval(() => check().catch((e) => opts.log(`presence check failed: ${(e as Error).message}`)), opts.everyMs ?? 2000);
  return { stop: () => clearInterval(timer) };
}
