/**
 * Prints logons and logoffs on the machines an integration may see, as they happen.
 *
 *   npm run guruconnect -- integrations create --name session-watch --events sessions
 *   npx tsx docs/examples/automation/session-watch.ts --creds data/integrations/session-watch.creds --server nats://127.0.0.1:4222
 *
 * Each agent publishes its whole session list on `gc.agent.<agent>.sessions` when it starts and
 * whenever a session appears, goes away or changes; comparing a list with the previous one of the
 * same agent gives the logons and logoffs. The first list of an agent is its state, not news.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { credsAuthenticator } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { decode } from '../../../proto/codec.js';
import type { guruconnect } from '../../../proto/generated/guruconnect.js';

type Session = guruconnect.ISessionInfo;

const { values } = parseArgs({ options: { creds: { type: 'string' }, server: { type: 'string', default: 'nats://127.0.0.1:4222' } } });
if (!values.creds) {
  console.error('usage: session-watch.ts --creds FILE [--server nats://host:port]');
  process.exit(2);
}

const nc = await connect({ servers: values.server, authenticator: credsAuthenticator(readFileSync(values.creds)), name: 'session-watch' });
console.error(`watching session lists on ${values.server}`);

/** A session is the same logon while its id and user stay the same. */
const key = (s: Session) => `${s.sessionId}/${s.domain ? `${s.domain}\\` : ''}${s.userName}`;
const describe = (s: Session) => `session ${s.sessionId} ${s.userName}${s.stationName ? ` (${s.stationName})` : ''}`;
const known = new Map<string, Map<string, Session>>();

for await (const m of nc.subscribe('gc.agent.*.sessions')) {
  const r = decode(m.data, m.subject);
  if (!r.ok || !r.value.sessionList) {
    console.error(`skipped a message on ${m.subject}: ${r.ok ? 'no session list' : r.error.message}`);
    continue;
  }
  const agent = r.value.meta.agentId ?? '?';
  const now = new Map((r.value.sessionList.sessions ?? []).filter((s) => s.userName).map((s) => [key(s), s]));
  const before = known.get(agent);
  known.set(agent, now);
  if (!before) continue;
  const at = new Date(Number(r.value.meta.atMs ?? Date.now())).toISOString();
  for (const [k, s] of now) if (!before.has(k)) console.log(`${at}  logon   ${agent}  ${describe(s)}`);
  for (const [k, s] of before) if (!now.has(k)) console.log(`${at}  logoff  ${agent}  ${describe(s)}`);
}
