/**
 * Who may publish and subscribe to what on the bus: one NATS permission set per identity, every
 * subject built from proto/subjects.ts. The server enforces these; nothing else is trusted to.
 *
 * Two accounts. `GC` holds the event stream and the identities that write or run it (agents, the
 * gateway, the projections, the launcher). `GC_READERS` holds the read-only identities (auditors,
 * automation): it has no JetStream of its own and imports from `GC` only the live stored events and
 * the stream's direct-get and info API, so a reader cannot create or change a consumer, and so can
 * never make the server deliver anything onto a subject agents or services listen to.
 */
import type { Export, Import, Permissions } from '@nats-io/jwt';
import type { AgentId } from '../../proto/ids.js';
import { EventsApi, Streams, inboxes, storedAgentEventSubjects, subjects } from '../../proto/subjects.js';

export const serviceKinds = ['gateway', 'projections', 'automation', 'auditor', 'launcher'] as const;
export type ServiceKind = (typeof serviceKinds)[number];

/** Identities that live in the readers' account. */
export const readerKinds = ['automation', 'auditor'] as const satisfies readonly ServiceKind[];
export type ReaderKind = (typeof readerKinds)[number];

export const isReaderKind = (k: ServiceKind): k is ReaderKind => (readerKinds as readonly string[]).includes(k);

/** The inbox prefix a client of `kind` must connect with (BusOptions.inboxPrefix). */
export function inboxPrefixFor(kind: ServiceKind): string {
  return isReaderKind(kind) ? inboxes.reader(kind) : inboxes.service(kind);
}

/** The inbox prefix every agent connects with. */
export const agentInboxPrefix = (agentId: string): string => inboxes.agent(agentId);

const events = Streams.events.name;
const deny = { allow: [] as string[], deny: ['>'] };
const allAudit = subjects.allAudit();

/** Permissions of a service user. `launcher` is the bootstrap administrator of the application account. */
export function servicePermissions(kind: ServiceKind): Permissions {
  const inbox = `${inboxPrefixFor(kind)}.>`;
  switch (kind) {
    case 'launcher':
      // Creates and updates streams and KV buckets; no subject restrictions inside the account.
      return { pub: { allow: ['>'] }, sub: { allow: ['>'] } };
    case 'gateway':
      return {
        pub: { allow: [subjects.allCommands(), allAudit, '$JS.API.>', '$JS.ACK.>', '$JS.FC.>', '$KV.>'], deny: [subjects.allAgentEvents(), subjects.allFrames()] },
        sub: { allow: [subjects.allAgentEvents(), subjects.allFrames(), allAudit, inbox] },
      };
    case 'projections':
      return {
        pub: {
          allow: [
            '$JS.API.INFO',
            EventsApi.direct.info,
            EventsApi.direct.get,
            `${EventsApi.direct.get}.>`,
            `$JS.API.STREAM.MSG.GET.${events}`,
            `$JS.API.CONSUMER.CREATE.${events}`,
            `$JS.API.CONSUMER.CREATE.${events}.>`,
            `$JS.API.CONSUMER.DURABLE.CREATE.${events}.*`,
            `$JS.API.CONSUMER.INFO.${events}.*`,
            `$JS.API.CONSUMER.MSG.NEXT.${events}.*`,
            `$JS.API.CONSUMER.DELETE.${events}.*`,
            `$JS.API.CONSUMER.NAMES.${events}`,
            `$JS.API.CONSUMER.LIST.${events}`,
            `$JS.ACK.${events}.>`,
          ],
        },
        sub: { allow: [inbox] },
      };
    case 'automation':
      // Read-only: live stored events and audit, never a command, no request of any kind.
      return { pub: deny, sub: { allow: [...storedAgentEventSubjects(), allAudit, inbox] } };
    case 'auditor':
      // Reads the whole stream by sequence (direct get) and hears audit events live.
      return { pub: { allow: [EventsApi.reader.info, EventsApi.reader.get] }, sub: { allow: [...storedAgentEventSubjects(), allAudit, inbox] } };
  }
}

/** Permissions of one agent: speak only for itself, hear only its own commands and replies. */
export function agentPermissions(agentId: string): Permissions {
  const id = agentId as AgentId;
  return {
    pub: { allow: [subjects.agentEvents(id), subjects.frames(id)] },
    sub: { allow: [subjects.commandsFor(id), `${agentInboxPrefix(id)}.>`] },
    // One reply per received command (request/reply from the gateway); replies expire after 2 min.
    resp: { max: 1, ttl: 120_000_000_000 },
  };
}

/** What the application account offers the readers' account: live stored events, and read-only stream access. */
export function appAccountExports(): Export[] {
  return [
    ...storedAgentEventSubjects().map((subject) => ({ name: `events ${subject}`, subject, type: 'stream' as const })),
    { name: 'audit', subject: allAudit, type: 'stream' },
    { name: 'events direct get', subject: EventsApi.direct.get, type: 'service', response_type: 'Singleton' },
    { name: 'events info', subject: EventsApi.direct.info, type: 'service', response_type: 'Singleton' },
  ];
}

/** The readers' account imports, from the application account `appAccount`. */
export function readerAccountImports(appAccount: string): Import[] {
  return [
    ...storedAgentEventSubjects().map((subject) => ({ name: `events ${subject}`, subject, account: appAccount, type: 'stream' as const })),
    { name: 'audit', subject: allAudit, account: appAccount, type: 'stream' },
    { name: 'events direct get', subject: EventsApi.direct.get, local_subject: EventsApi.reader.get, account: appAccount, type: 'service' },
    { name: 'events info', subject: EventsApi.direct.info, local_subject: EventsApi.reader.info, account: appAccount, type: 'service' },
  ];
}
