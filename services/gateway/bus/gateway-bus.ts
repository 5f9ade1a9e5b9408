/**
 * The gateway's side of NATS, opened once by server.ts (or a test) and handed to buildApp: the
 * agent-event fan-out, the audit publisher, the command client, and the connection frames and
 * terminal I/O use. buildApp opens nothing itself, so a test can build the app over fakes.
 */
import { type JetStreamClient, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { projectionLag } from '../../../infra/db/read-side-health.js';
import type { Logger } from '../../../proto/log/logger.js';
import { Streams } from '../../../proto/subjects.js';
import { type AgentEvents, subscribeAgentEvents } from './agent-events.js';
import { type FlushingAuditPublisher, createAuditPublisher } from './audit-publisher.js';
import { type CommandClient, createCommandClient } from './command-client.js';
import { commandFailureRecorder } from './command-failures.js';
import type { EventIds } from './event-ids.js';

export interface GatewayBus {
  /** Core NATS for what is never stored: frames and terminal I/O (viewer sockets). */
  nc: NatsConnection;
  events: AgentEvents;
  audit: FlushingAuditPublisher;
  commands: CommandClient;
  /** Whether NATS is connected now (health). */
  connected(): boolean;
  /** Events of the stream a projection has not committed yet (health); null when the stream cannot tell. */
  projectionLag(name: string, checkpoint: number): Promise<number | null>;
  /** Publishes the denial counts still held and stops listening; the connection stays the caller's. */
  close(): Promise<void>;
}

export interface GatewayBusOptions {
  offlineAfterBeats: number;
  denialFoldMs: number;
  /** Keyed ids of the gateway's derived events (loadEventIds(config.eventIdKeyFile)). */
  eventIds: EventIds;
  log: Logger;
}

export function openGatewayBus(nc: NatsConnection, js: JetStreamClient, o: GatewayBusOptions): GatewayBus {
  const audit = createAuditPublisher(js, (m) => o.log.error(m), { windowMs: o.denialFoldMs });
  const events = subscribeAgentEvents(nc, (m) => o.log.info(m));
  const commands = createCommandClient(nc, js, events, { offlineAfterBeats: o.offlineAfterBeats, recordFailure: commandFailureRecorder(audit, o.eventIds, o.log) });
  return {
    nc,
    events,
    audit,
    commands,
    connected: () => !nc.isClosed() && nc.info !== undefined && !(nc as { protocol?: { transport?: { isClosed?: boolean } } }).protocol?.transport?.isClosed,
    async projectionLag(name, checkpoint) {
      const jsm = await jetstreamManager(nc).catch(() => null);
      const lastSeq = jsm
        ? await jsm.streams.info(Streams.events.name).then(
            (i) => i.state.last_seq,
            () => null,
          )
        : null;
      return jsm && lastSeq !== null ? projectionLag(jsm, { name }, checkpoint, lastSeq).catch(() => null) : null;
    },
    async close() {
      await audit.flush();
      events.close();
    },
  };
}
