/**
 * The audit log as the shell tools write it: the launcher identity publishes, on behalf of the OS
 * user who ran the command (`os:<name>`, role `cli`), through the gateway's own publisher, so a
 * row from the shell and one from the API differ only in their actor.
 */
import { userInfo } from 'node:os';
import { jetstream } from '@nats-io/jetstream';
import { connectBus } from '../../proto/bus/connect.js';
import { createAuditPublisher } from '../../services/gateway/bus/audit-publisher.js';

export interface CliAuditTarget {
  natsUrl: string;
  /** The launcher's .creds (absent for a server without accounts). */
  credsFile?: string;
  /** The servers' CA file; undefined for a plain-text loopback server. */
  caFile?: string;
}

/** Records one action; rejects when the event stream did not store it. */
export type CliAuditRecord = (eventType: string, details: Record<string, unknown>) => Promise<void>;

export interface CliAudit {
  record: CliAuditRecord;
  close(): Promise<void>;
}

/** Connects once (failing at once when NATS cannot be reached), so a tool can refuse before it changes anything. */
export async function openCliAudit(t: CliAuditTarget, name: string): Promise<CliAudit> {
  const nc = await connectBus({ servers: t.natsUrl, name, credsFile: t.credsFile, caFile: t.caFile, once: true });
  const publish = createAuditPublisher(jetstream(nc), () => {});
  const user = userInfo().username;
  return {
    record: (eventType, details) => publish({ eventType, actor: { userId: `os:${user}`, userName: user, role: 'cli' }, details }),
    close: () => nc.close(),
  };
}
