/**
 * `npm run guruconnect -- integrations create|list|revoke`: subscribe-only NATS credentials for
 * automation, scoped to agents and event kinds, made from the deployment's own key directory
 * (`<GC_DATA_DIR>/nats-auth`, or GC_NATS_AUTH_DIR). Creating and revoking are audited.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ErrorCode } from '../../proto/errors.js';
import { type AgentId, checkSubjectToken } from '../../proto/ids.js';
import { integrationEventNames } from '../../proto/subjects.js';
import { readNatsCa } from '../../proto/bus/nats-ca.js';
import { createIntegration, listIntegrations, revokeIntegration } from '../nats-auth/integrations.js';
import { writeSecret } from '../nats-auth/secret-files.js';
import { prepareNatsAuth } from '../nats-auth/setup.js';
import { openCliAudit } from './cli-audit.js';

const usage = `usage:
  integrations create --name N [--agents <id,id|*>] [--events ${integrationEventNames.join(',')}] [--out FILE]
  integrations list
  integrations revoke --name N`;

interface Where {
  dataDir: string;
  authDir: string;
  natsUrl: string;
  /** The servers' CA file (NATS_CA, else the local stack's); undefined for a plain-text loopback server. */
  natsCa: string | undefined;
}

/** The deployment this command acts on: the local stack's data directory unless told otherwise. */
function where(env: NodeJS.ProcessEnv): Where | string {
  const dataDir = resolve(env.GC_DATA_DIR ?? 'data');
  const authDir = env.GC_NATS_AUTH_DIR ?? join(dataDir, 'nats-auth');
  if (!existsSync(join(authDir, 'operator.nk'))) return `no NATS key directory at ${authDir}: start the stack once (bash infra/up.sh) or set GC_NATS_AUTH_DIR`;
  const stackFile = join(dataDir, 'stack.json');
  const stack = existsSync(stackFile) ? (JSON.parse(readFileSync(stackFile, 'utf8')) as { natsUrl?: string; natsCa?: string }) : {};
  const natsUrl = env.NATS_URL ?? stack.natsUrl;
  if (!natsUrl) return 'no NATS URL: start the stack (bash infra/up.sh) or set NATS_URL';
  const natsCa = env.NATS_CA || (natsUrl === stack.natsUrl ? stack.natsCa : undefined);
  if (natsCa) {
    const ca = readNatsCa(natsCa);
    if (!ca.ok) return ca.error.message;
  }
  return { dataDir, authDir, natsUrl, natsCa };
}

/** Records the action in the audit log, as the launcher identity on behalf of the OS user who ran it. */
async function audit(w: Where, creds: string, eventType: string, details: Record<string, unknown>): Promise<void> {
  const log = await openCliAudit({ natsUrl: w.natsUrl, credsFile: creds, caFile: w.natsCa }, 'guruconnect-integrations');
  try {
    await log.record(eventType, details);
  } finally {
    await log.close();
  }
}

/** Runs one integrations command; returns the exit code (0 ok, 1 refused, 2 usage). */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let p: ReturnType<typeof parse>;
  try {
    p = parse(argv);
  } catch (e) {
    console.error(`${(e as Error).message}\n${usage}`);
    return 2;
  }
  const [verb] = p.positionals;
  const w = where(env);
  if (typeof w === 'string') {
    console.error(w);
    return 2;
  }
  const setup = await prepareNatsAuth(w.authDir, { caFile: w.natsCa });

  if (verb === 'list') {
    const all = await listIntegrations(setup);
    if (all.length === 0) console.log('no integrations (create one with: npm run guruconnect -- integrations create --name N)');
    for (const i of all) console.log(`${i.name.padEnd(20)} ${i.revokedAt ? `revoked ${i.revokedAt}` : 'active'.padEnd(32)}  created ${i.createdAt}  ${i.subjects.join(' ')}`);
    return 0;
  }
  if (verb === 'create') {
    const name = p.values.name;
    if (!name) {
      console.error(`integrations create needs --name\n${usage}`);
      return 2;
    }
    const agentsArg = p.values.agents ?? '*';
    let agents: AgentId[] | '*' = '*';
    if (agentsArg !== '*') {
      const ids = agentsArg
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const bad = ids.map((id) => checkSubjectToken(id, 'agent id')).find((r) => !r.ok);
      if (bad && !bad.ok) {
        console.error(`--agents: ${bad.error.message}`);
        return 2;
      }
      agents = ids as AgentId[];
    }
    const events = (p.values.events ?? 'sessions,status,switched')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const r = await createIntegration(setup, { name, agents, events });
    if (!r.ok) {
      console.error(`${r.error.code}: ${r.error.message}`);
      return r.error.code === ErrorCode.VALIDATION_FAILED || r.error.code === ErrorCode.INVALID_ID ? 2 : 1;
    }
    const out = resolve(p.values.out ?? join(w.dataDir, 'integrations', `${name}.creds`));
    await writeSecret(out, r.value.creds);
    await audit(w, await setup.credsFor('launcher'), 'integration_created', { integration: name, agents, events, subjects: r.value.integration.subjects });
    console.log(`integration ${name} created`);
    console.log(`  credentials: ${out}   (mode 0600: whoever holds it hears these events)`);
    console.log(`  NATS URL:    ${w.natsUrl}`);
    if (w.natsCa) console.log(`  NATS CA:     ${w.natsCa}   (TLS: clients verify the server against this file)`);
    console.log(`  subjects:    ${r.value.integration.subjects.join(' ')}`);
    console.log(`  try:         npm run guruconnect -- events tail --creds ${out}`);
    return 0;
  }
  if (verb === 'revoke') {
    const name = p.values.name;
    if (!name) {
      console.error(`integrations revoke needs --name\n${usage}`);
      return 2;
    }
    const r = await revokeIntegration(setup, name, w.natsUrl);
    if (!r.ok) {
      console.error(`${r.error.code}: ${r.error.message}`);
      return 1;
    }
    await audit(w, await setup.credsFor('launcher'), 'integration_revoked', { integration: name });
    console.log(`integration ${name} revoked: its connections are closed and its credentials refused`);
    return 0;
  }
  console.error(usage);
  return 2;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: { name: { type: 'string' }, agents: { type: 'string' }, events: { type: 'string' }, out: { type: 'string' } },
  });
}
