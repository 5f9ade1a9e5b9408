import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type NatsConnection, credsAuthenticator } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { connectBus } from '../../proto/bus/connect.js';
import { ensureStreams } from '../../infra/bus/streams.js';
import { openDb } from '../../infra/db/connect.js';
import { migrateToLatest } from '../../infra/db/migrate.js';
import type { Database } from '../../infra/db/schema.js';
import { agentInboxPrefix } from '../../infra/nats-auth/permissions.js';
import { type NatsAuthSetup, prepareNatsAuth } from '../../infra/nats-auth/setup.js';
import { type AuditEvent, authPlugin } from '../../services/auth/plugin.js';
import { createUser } from '../../services/auth/users.js';
import { createHttpEdge } from '../../services/gateway/http-edge.js';
import { checkSubjectToken } from '../../proto/ids.js';
import { hostileBodies, hostileWholeBodies } from '../support/hostile-values.js';
import { type TestNats, type TestPostgres, type TestTls, makeTestTls, startTestNats, startTestPostgres } from '../support/servers.js';

const PASSWORD = 'correct horse battery';
const te = new TextEncoder();

/** An agent as an installer sets it up from the enrollment reply: its creds and the CA it trusts. */
function connectAgent(url: string, agentId: string, creds: string, ca: string): Promise<NatsConnection> {
  return connect({ servers: url, tls: { ca }, authenticator: credsAuthenticator(te.encode(creds)), inboxPrefix: agentInboxPrefix(agentId), maxReconnectAttempts: 0 });
}

describe('agent enrollment and revocation through the gateway (real NATS over TLS and PostgreSQL)', () => {
  let tls: TestTls;
  let caPem: string;
  let authDir: string;
  let setup: NatsAuthSetup;
  let nats: TestNats;
  let pgs: TestPostgres;
  let db: Kysely<Database>;
  let app: FastifyInstance;
  let admin: Record<string, string>;
  let viewer: Record<string, string>;
  const audits: AuditEvent[] = [];
  const open: NatsConnection[] = [];

  before(async () => {
    authDir = mkdtempSync(join(tmpdir(), 'gc-enroll-'));
    tls = await makeTestTls();
    caPem = readFileSync(tls.caFile, 'utf8');
    setup = await prepareNatsAuth(authDir, { caFile: tls.caFile });
    [nats, pgs] = await Promise.all([startTestNats(setup.serverConfig, { tls }), startTestPostgres()]);
    const launcher = await connectBus({ servers: nats.url, name: 'launcher', credsFile: await setup.credsFor('launcher'), caFile: tls.caFile });
    open.push(launcher);
    await ensureStreams(await jetstreamManager(launcher));
    db = openDb({ url: pgs.url });
    await migrateToLatest(db);
    // The gateway's own HTTP edge (envelopes, validation, input guard) in front of the auth plugin alone.
    app = createHttpEdge({ config: { trustProxy: false }, audit: async () => {} });
    await app.register(authPlugin, {
      db,
      audit: async (ev) => {
        audits.push(ev);
      },
      enrollment: { issuer: setup, natsUrl: nats.url },
    });
    await app.ready();
    assert.ok((await createUser(db, { name: 'alice', role: 'admin', password: PASSWORD })).ok);
    assert.ok((await createUser(db, { name: 'vic', role: 'viewer', password: PASSWORD })).ok);
    const tok = async (name: string) => (await app.inject({ method: 'POST', url: '/api/auth/login', payload: { name, password: PASSWORD } })).json().token as string;
    admin = { authorization: `Bearer ${await tok('alice')}` };
    viewer = { authorization: `Bearer ${await tok('vic')}` };
  });
  after(async () => {
    for (const nc of open) await nc.close().catch(() => {});
    await app?.close();
    await db?.destroy();
    await Promise.all([nats?.stop(), pgs?.stop()]);
    rmSync(authDir, { recursive: true, force: true });
    tls?.remove();
  });

  const newKey = async (body: Record<string, unknown>) => {
    const r = await app.inject({ method: 'POST', url: '/api/enrollment-keys', payload: body, headers: admin });
    assert.equal(r.statusCode, 201);
    return r.json() as { id: string; key: string };
  };
  const enroll = (key: string, agentId: string) => app.inject({ method: 'POST', url: '/api/agents/enroll', payload: { enrollment_key: key, agent_id: agentId, hostname: `${agentId}.example` } });

  it('enrolls an agent with a single-use key; the creds work on the bus and the key is spent', async () => {
    assert.equal((await app.inject({ method: 'POST', url: '/api/enrollment-keys', payload: {}, headers: viewer })).statusCode, 403);
    const k = await newKey({ site: 'hq' });
    const stored = await db.selectFrom('enrollment_keys').select('key_hash').where('id', '=', k.id).executeTakeFirstOrThrow();
    assert.notEqual(stored.key_hash, k.key);

    const r = await enroll(k.key, 'host-1');
    assert.equal(r.statusCode, 200);
    const body = r.json() as { agent_id: string; creds: string; nats_url: string; site: string; nats_ca: string };
    assert.equal(body.agent_id, 'host-1');
    assert.equal(body.nats_url, nats.url);
    // The reply carries this deployment's CA: the agent trusts exactly its own servers.
    assert.equal(body.nats_ca, caPem);
    assert.equal(body.site, 'hq');
    assert.match(body.creds, /BEGIN NATS USER JWT/);

    const nc = await connectAgent(body.nats_url, 'host-1', body.creds, body.nats_ca);
    open.push(nc);
    const ack = await jetstream(nc).publish('gc.agent.host-1.status', te.encode('up'));
    assert.equal(ack.stream, 'GC_EVENTS');

    const again = await enroll(k.key, 'host-9');
    assert.equal(again.statusCode, 401);
    assert.equal(again.json().error_code, 'UNAUTHENTICATED');
    assert.ok(audits.some((a) => a.eventType === 'agent_enrolled' && a.agentId === 'host-1'));
    assert.ok(audits.some((a) => a.eventType === 'agent_enroll_failed' && a.details.agent_id === 'host-9'));
  });

  it('never hands out an enrolled agent id twice, and refuses revoked or bogus keys', async () => {
    const k = await newKey({ reusable: true });
    assert.equal((await enroll(k.key, 'host-2')).statusCode, 200);
    assert.equal((await enroll(k.key, 'host-3')).statusCode, 200, 'a reusable key enrolls several machines');
    const takeover = await enroll(k.key, 'host-1');
    assert.equal(takeover.statusCode, 409);
    assert.equal(takeover.json().error_code, 'CONFLICT');
    const badId = await enroll(k.key, 'gc.cmd.>');
    assert.equal(badId.json().error_code, 'INVALID_ID');

    assert.equal((await app.inject({ method: 'DELETE', url: `/api/enrollment-keys/${k.id}`, headers: admin })).statusCode, 200);
    assert.equal((await enroll(k.key, 'host-4')).statusCode, 401);
    assert.equal((await enroll('gce_bogus', 'host-4')).statusCode, 401);
  });

  it('an admin revokes an agent: it is disconnected at once and cannot reconnect', async () => {
    const k = await newKey({});
    const creds = (await enroll(k.key, 'host-5')).json().creds as string;
    const nc = await connectAgent(nats.url, 'host-5', creds, caPem);
    open.push(nc);
    await nc.flush();

    const denied = await app.inject({ method: 'POST', url: '/api/agents/host-5/revoke', headers: viewer });
    assert.equal(denied.statusCode, 403);
    assert.equal(nc.isClosed(), false);

    const r = await app.inject({ method: 'POST', url: '/api/agents/host-5/revoke', headers: admin });
    assert.equal(r.statusCode, 200);
    assert.equal(r.json().revoked_keys.length, 1);
    await nc.closed();
    assert.equal(nc.isClosed(), true);
    await assert.rejects(connectAgent(nats.url, 'host-5', creds, caPem), /authorization|revoked/i);
    const row = await db.selectFrom('agents').select('revoked_at').where('agent_id', '=', 'host-5').executeTakeFirstOrThrow();
    assert.ok(row.revoked_at);
    assert.ok(audits.some((a) => a.eventType === 'agent_revoked' && a.agentId === 'host-5'));
    const reenroll = await enroll((await newKey({})).key, 'host-5');
    assert.equal(reenroll.statusCode, 409, 'a revoked id stays revoked');
    assert.equal((await app.inject({ method: 'POST', url: '/api/agents/nobody/revoke', headers: admin })).statusCode, 404);
  });

  it('answers hostile enrollment bodies without a crash and enrolls only well-formed ids', async () => {
    const k = await newKey({ reusable: true });
    const base = { enrollment_key: k.key, agent_id: 'sweep-1', hostname: 'sweep-1.example' };
    const auditsBefore = audits.length;
    const bad: string[] = [];
    let sent = 0;
    for (const field of Object.keys(base)) {
      for (const payload of [...hostileBodies(base, field), ...hostileWholeBodies]) {
        const r = await app.inject({ method: 'POST', url: '/api/agents/enroll', payload, headers: { 'content-type': 'application/json' } });
        sent++;
        if (r.statusCode >= 500) bad.push(`${field}: ${r.statusCode} ${r.body.slice(0, 160)}`);
      }
    }
    assert.deepEqual(bad, [], `${bad.length} of ${sent} answers were server errors`);
    for (const a of await db.selectFrom('agents').select('agent_id').execute()) assert.ok(checkSubjectToken(a.agent_id).ok, `enrolled id ${JSON.stringify(a.agent_id.slice(0, 80))}`);
    assert.ok(audits.length > auditsBefore, 'the attempts are audited');
    // The sweeping address is held back by the rate limit; another machine still enrolls, audited.
    assert.equal((await enroll(k.key, 'after-sweep')).json().error_code, 'RATE_LIMITED');
    const ordinary = await app.inject({
      method: 'POST',
      url: '/api/agents/enroll',
      remoteAddress: '10.9.8.7',
      payload: { enrollment_key: k.key, agent_id: 'after-sweep', hostname: 'after-sweep.example' },
    });
    assert.equal(ordinary.statusCode, 200, ordinary.body);
    assert.ok(audits.some((a) => a.eventType === 'agent_enrolled' && a.agentId === 'after-sweep'));
  });
});
