/**
 * Prints logons and logoffs on the machines an integration may see, as they happen.
 *
 *   npm run guruconnect -- integrations create --name session-watch --events sessions,status
 *   npx tsx docs/examples/automation/session-watch.ts --creds data/integrations/session-watch.creds --ca data/tls/ca.pem --server tls://127.0.0.1:4222
 *
 * NATS speaks TLS: `--ca` is the deployment's CA file (printed by `integrations create`), and the
 * client verifies the server against it; without `--ca` the system's CAs are used.
 *
 * Each agent publishes its whole session list on `gc.agent.<agent>.sessions` when it starts and
 * whenever a session appears, goes away or changes, and repeats it in every heartbeat
 * (`gc.agent.<agent>.status`, every 5 s). Comparing a list with the previous one of the same agent
 * gives the logons and logoffs; the first list heard from an agent is its state, not news.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { credsAuthenticator } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { decode } from '../../../proto/codec.js';
import type { guruconnect } from '../../../proto/generated/guruconnect.js';

type Session = guruconnect.ISessionInfo;

const { values } = parseArgs({ options: { creds: { type: 'string' }, ca: { type: 'string' }, server: { type: 'string', default: 'tls://127.0.0.1:4222' } } });
if (!values.creds) {
  console.error('usage: session-watch.ts --creds FILE [--ca CA_FILE] [--server tls://host:port]');
  process.exit(2);
}

// `tls` set: the client refuses a server that does not offer TLS, and `ca` replaces the system's CAs.
const tls = values.ca ? { ca: readFileSync(values.ca, 'utf8') } : {};
const nc = await connect({ servers: values.server, tls, authenticator: credsAuthenticator(readFileSync(values.creds)), name: 'session-watch' });
console.error(`watching session lists on ${values.server}`);

/** A session is the same logon while its id and user stay the same. */
const key = (s: Session) => `${s.sessionId}/${s.domain ? `${s.domain}\\` : ''}${s.userName}`;
const describe = (s: Session) => `session ${s.sessionId} ${s.userName}${s.stationName ? ` (${s.stationName})` : ''}`;
const known = new Map<string, Map<string, Session>>();

/** Compares an agent's session list with the one before and prints what changed. */
function onMessage(subject: string, data: Uint8Array): void {
  const r = decode(data, subject);
  const list = r.ok ? (r.value.sessionList ?? r.value.agentStatus?.sessions) : undefined;
  if (!r.ok || !list) {
    if (!r.ok) console.error(`skipped a message on ${subject}: ${r.error.message}`);
    return;
  }
  const agent = r.value.meta.agentId ?? '?';
  const now = new Map((list.sessions ?? []).filter((s) => s.userName).map((s) => [key(s), s]));
  const before = known.get(agent);
  known.set(agent, now);
  if (!before) {
    console.error(`tracking ${agent}: ${now.size} session(s)`);
    return;
  }
  const at = new Date(Number(r.value.meta.atMs ?? Date.now())).toISOString();
  for (const [k, s] of now) if (!before.has(k)) console.log(`${at}  logon   ${agent}  ${describe(s)}`);
  for (const [k, s] of before) if (!now.has(k)) console.log(`${at}  logoff  ${agent}  ${describe(s)}`);
}

// One subscription per subject the integration may hear (a wider wildcard would be refused).
for (const subject of ['gc.agent.*.sessions', 'gc.agent.*.status']) {
  nc.subscribe(subject, { callback: (e, m) => (e ? console.error(`${subject}: ${e.message}`) : onMessage(m.subject, m.data)) });
}
await nc.closed();
