/**
 * Publishes technician actions to gc.audit.<event_type> (stored in the event stream). Denials
 * (`access_denied`) pass through the denial folder, so every place that refuses someone is folded
 * alike and nobody can grow the audit log at will by being refused.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import { encode, message } from '../../../proto/codec.js';
import { subjects } from '../../../proto/subjects.js';
import type { Actor } from './command-client.js';
import { type DenialFolderOptions, createDenialFolder, isFoldedRefusal } from './denial-folder.js';

export interface AuditInput {
  eventType: string;
  /** Fixed event id for a fact that may be recorded by several gateways (dedupe by Nats-Msg-Id). */
  eventId?: string;
  actor?: Actor;
  agentId?: string;
  connectSessionId?: string;
  windowsSessionId?: number;
  correlationId?: string;
  details?: Record<string, unknown>;
}

export type AuditPublisher = (ev: AuditInput) => Promise<void>;

/** The gateway's publisher: `flush` publishes the denial counts still held (call it before closing the bus). */
export type FlushingAuditPublisher = AuditPublisher & { flush(): Promise<void> };

export function createAuditPublisher(js: JetStreamClient, log: (m: string) => void, denials: DenialFolderOptions = {}): FlushingAuditPublisher {
  const publishNow: AuditPublisher = async (ev) => {
    const msg = message(
      {
        audit: {
          eventType: ev.eventType,
          connectSessionId: ev.connectSessionId ?? '',
          windowsSessionId: ev.windowsSessionId ?? 0,
          detailsJson: JSON.stringify(ev.details ?? {}),
        },
      },
      { ...(ev.eventId ? { id: ev.eventId } : {}), agentId: ev.agentId ?? '', actor: ev.actor, correlationId: ev.correlationId ?? '' },
    );
    try {
      await js.publish(subjects.audit(ev.eventType), encode(msg), { msgID: msg.meta!.id! });
    } catch (e) {
      // An audit event that cannot be stored is a loud failure, never a silent one.
      log(`AUDIT EVENT NOT STORED (${ev.eventType}): ${(e as Error).message}`);
      throw e;
    }
  };
  const folder = createDenialFolder(publishNow, { log, ...denials });
  const publish: AuditPublisher = (ev) => (isFoldedRefusal(ev) ? folder.deny(ev) : publishNow(ev));
  return Object.assign(publish, { flush: () => folder.flush() });
}
