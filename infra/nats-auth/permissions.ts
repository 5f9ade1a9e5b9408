/**
 * Who may publish and subscribe to what on the bus: one NATS permission set per service kind and a
 * template for each agent. The server enforces these; nothing else is trusted to.
 */
import type { Permissions } from '@nats-io/jwt';
import { Streams } from '../../proto/subjects.js';

export const serviceKinds = ['gateway', 'projections', 'automation', 'auditor', 'launcher'] as const;
export type ServiceKind = (typeof serviceKinds)[number];

const events = Streams.events.name;

/** The inbox prefix a client of `kind` must connect with (BusOptions.inboxPrefix), or undefined for `_INBOX`. */
export function inboxPrefixFor(kind: ServiceKind): string | undefined {
  // Less trusted readers get their own inbox tree so they cannot read others' replies.
  return kind === 'projections' || kind === 'automation' || kind === 'auditor' ? `_INBOX.${kind}` : undefined;
}

/** The inbox prefix every agent connects with: `_INBOX.<agentId>`. */
export function agentInboxPrefix(agentId: string): string {
  return `_INBOX.${agentId}`;
}

// Read access to the event stream through the JetStream API: stream info, ephemeral / ordered
// consumers, pull requests and direct gets, all scoped to GC_EVENTS.
const readEventsApi = [
  '$JS.API.INFO',
  `$JS.API.STREAM.INFO.${events}`,
  `$JS.API.STREAM.MSG.GET.${events}`,
  `$JS.API.DIRECT.GET.${events}`,
  `$JS.API.DIRECT.GET.${events}.>`,
  `$JS.API.CONSUMER.CREATE.${events}`,
  `$JS.API.CONSUMER.CREATE.${events}.>`,
  `$JS.API.CONSUMER.INFO.${events}.*`,
  `$JS.API.CONSUMER.MSG.NEXT.${events}.*`,
];

const denyAll = { allow: [] as string[], deny: ['>'] };

/** Permissions of a service user. `launcher` is the bootstrap administrator of the application account. */
export function servicePermissions(kind: ServiceKind): Permissions {
  const inbox = `${inboxPrefixFor(kind) ?? '_INBOX'}.>`;
  switch (kind) {
    case 'launcher':
      // Creates and updates streams and KV buckets; no subject restrictions inside the account.
      return { pub: { allow: ['>'] }, sub: { allow: ['>'] } };
    case 'gateway':
      return {
        pub: { allow: ['gc.cmd.>', 'gc.audit.>', '$JS.API.>', '$JS.ACK.>', '$JS.FC.>', '$KV.>'], deny: ['gc.agent.>', 'gc.frame.>'] },
        sub: { allow: ['gc.agent.>', 'gc.frame.>', 'gc.audit.>', '_INBOX.>'] },
      };
    case 'projections':
      return {
        pub: {
          allow: [
            ...readEventsApi,
            `$JS.API.CONSUMER.DURABLE.CREATE.${events}.*`,
            `$JS.API.CONSUMER.DELETE.${events}.*`,
            `$JS.API.CONSUMER.NAMES.${events}`,
            `$JS.API.CONSUMER.LIST.${events}`,
            `$JS.ACK.${events}.>`,
          ],
        },
        sub: { allow: [inbox] },
      };
    case 'automation':
      // Read-only: live events and audit, never a command.
      return { pub: denyAll, sub: { allow: ['gc.agent.*.>', 'gc.audit.>', inbox] } };
    case 'auditor':
      return { pub: { allow: readEventsApi }, sub: { allow: [inbox] } };
  }
}

/** Permissions of one agent: speak only for itself, hear only its own commands and replies. */
export function agentPermissions(agentId: string): Permissions {
  return {
    pub: { allow: [`gc.agent.${agentId}.>`, `gc.frame.${agentId}.>`] },
    sub: { allow: [`gc.cmd.${agentId}.>`, `${agentInboxPrefix(agentId)}.>`] },
    // One reply per received command (request/reply from the gateway); replies expire after 2 min.
    resp: { max: 1, ttl: 120_000_000_000 },
  };
}
