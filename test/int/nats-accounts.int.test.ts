/**
 * Issue 13, findings 4 and 5 against a real nats-server: read-only identities live in their own
 * account and cannot make the server deliver anything, and identities cannot be taken.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { createUser, encodeUser, fmtCreds, fromSeed } from '@nats-io/jwt';
import { type NatsConnection, PermissionViolationError, credsAuthenticator } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { connectBus } from '../../proto/bus/connect.js';
import { ensureStreams } from '../../infra/bus/streams.js';
import { agentInboxPrefix } from '../../infra/nats-auth/permissions.js';
import { type NatsAuthSetup, prepareNatsAuth, reservedAgentIds } from '../../infra/nats-auth/setup.js';
import { EventsApi } from '../../proto/subjects.js';
import { type TestNats, startTestNats } from '../support/servers.js';

const te = new TextEncoder();
const td = new TextDecoder();
const COMMAND_SUBJECT = 'gc.cmd.agent-a.input';

async function permissionError(nc: NatsConnection, subject: string): Promise<PermissionViolationError> {
  for await (const s of nc.status()) {
    if (s.type === 'error' && s.error instanceof PermissionViolationError && s.error.subject === subject) return s.error;
  }
  throw new Error('connection closed before the permission error arrived');
}

describe('read-only identities and reserved identities (real nats-server, two accounts)', () => {
  let authDir: string;
  let setup: NatsAuthSetup;
  let nats: TestNats;
  let launcher: NatsConnection;
  let projections: NatsConnection;
  const onCommandSubject: string[] = [];
  const open: NatsConnection[] = [];

  before(async () => {
    authDir = mkdtempSync(join(tmpdir(), 'gc-nats-accounts-'));
    setup = await prepareNatsAuth(authDir);
    nats = await startTestNats(setup.serverConfig);
    launcher = await connectBus({ servers: nats.url, name: 'launcher', credsFile: await setup.credsFor('launcher') });
    await ensureStreams(await jetstreamManager(launcher));
    // A stored command and an agent event, so a consumer pointed at a command subject would have work.
    await jetstream(launcher).publish('gc.cmd.agent-a.backstage', te.encode('stored command'));
    await jetstream(launcher).publish('gc.agent.agent-a.status', te.encode('status'));
    projections = await connectBus({ servers: nats.url, name: 'projections', credsFile: await setup.credsFor('projections') });
    await (await jetstreamManager(projections, { checkAPI: false })).consumers.add('GC_EVENTS', { durable_name: 'machines', description: 'projection', ack_policy: AckPolicy.Explicit });
    launcher.subscribe('gc.cmd.>', {
      callback: (_e, m) => {
        onCommandSubject.push(`${m.subject} ${m.string()}`);
      },
    });
    await launcher.flush();
    open.push(launcher, projections);
  });
  after(async () => {
    for (const nc of open) await nc.close().catch(() => {});
    await nats?.stop();
    rmSync(authDir, { recursive: true, force: true });
  });

  /** What the projections' durable looks like now (description is what finding 4 changed). */
  const durable = async () => (await (await jetstreamManager(launcher)).consumers.info('GC_EVENTS', 'machines')).config;

  for (const kind of ['auditor', 'automation'] as const) {
    it(`${kind}: cannot create a consumer, change the projections' durable, or make the server deliver onto a command subject`, async () => {
      const nc = await connectBus({ servers: nats.url, name: kind, credsFile: await setup.credsFor(kind) });
      open.push(nc);
      const push = { stream_name: 'GC_EVENTS', config: { deliver_subject: COMMAND_SUBJECT, deliver_policy: 'all', ack_policy: 'none' } };
      const attempts: Array<[string, unknown]> = [
        ['$JS.API.CONSUMER.CREATE.GC_EVENTS', push],
        ['$JS.API.CONSUMER.DURABLE.CREATE.GC_EVENTS.evil', { ...push, config: { ...push.config, durable_name: 'evil' } }],
        ['$JS.API.CONSUMER.CREATE.GC_EVENTS.machines', { stream_name: 'GC_EVENTS', config: { durable_name: 'machines', description: 'taken', ack_policy: 'explicit' } }],
      ];
      for (const [subject, body] of attempts) {
        const denied = permissionError(nc, subject);
        nc.publish(subject, te.encode(JSON.stringify(body)));
        await denied;
      }
      // A marker after the attempts: once it arrives, anything the server delivered would have too.
      launcher.publish('gc.cmd.agent-a.marker', te.encode(kind));
      while (!onCommandSubject.includes(`gc.cmd.agent-a.marker ${kind}`)) await launcher.flush();
      assert.deepEqual(
        onCommandSubject.filter((l) => l.startsWith(COMMAND_SUBJECT)),
        [],
      );
      assert.equal((await durable()).description, 'projection');
      const names: string[] = [];
      for await (const n of (await jetstreamManager(launcher)).consumers.list('GC_EVENTS')) names.push(n.name);
      assert.deepEqual(names, ['machines']);
    });
  }

  it('even a readers-account user allowed to publish anything finds no JetStream API: the account boundary holds, not only the user permissions', async () => {
    const readerKp = fromSeed(te.encode(readFileSync(join(authDir, 'readers-account.nk'), 'utf8').trim()));
    const kp = createUser();
    const jwt = await encodeUser('over-privileged', kp, readerKp, { pub: { allow: ['>'] }, sub: { allow: ['>'] } });
    const nc = await connect({ servers: nats.url, authenticator: credsAuthenticator(fmtCreds(jwt, kp)), maxReconnectAttempts: 0 });
    open.push(nc);
    const reply = await nc.request('$JS.API.CONSUMER.CREATE.GC_EVENTS', te.encode(JSON.stringify({ stream_name: 'GC_EVENTS', config: { deliver_subject: COMMAND_SUBJECT } })), { timeout: 5_000 });
    assert.match(td.decode(reply.data), /JetStream not enabled for account/);
    // And what it may do through the imports is read: the stored command by sequence, nothing else.
    const got = await nc.request(EventsApi.reader.get, te.encode(JSON.stringify({ seq: 1 })), { timeout: 5_000 });
    assert.equal(got.headers?.get('Nats-Subject'), 'gc.cmd.agent-a.backstage');
    const cmds = nc.subscribe('gc.cmd.>');
    await nc.flush();
    await jetstream(launcher).publish('gc.cmd.agent-a.backstage', te.encode('live command'));
    launcher.publish('gc.audit.marker', te.encode('m'));
    const audit = nc.subscribe('gc.audit.marker', { max: 1 });
    await nc.flush();
    launcher.publish('gc.audit.marker', te.encode('m'));
    for await (const _ of audit) break;
    cmds.unsubscribe();
    assert.equal(cmds.getProcessed(), 0, 'commands are not exported to the readers');
    assert.equal((await durable()).description, 'projection');
  });

  it('readers hear live stored events but not interactive terminal output (it can carry typed secrets)', async () => {
    const auto = await connectBus({ servers: nats.url, name: 'automation', credsFile: await setup.credsFor('automation') });
    open.push(auto);
    const a = await setup.issueAgentCreds('agent-live');
    assert.ok(a.ok);
    const agent = await connect({ servers: nats.url, authenticator: credsAuthenticator(te.encode(a.value.creds)), inboxPrefix: agentInboxPrefix('agent-live'), maxReconnectAttempts: 0 });
    open.push(agent);
    const heard: string[] = [];
    const denied = permissionError(auto, 'gc.agent.*.terminal');
    auto.subscribe('gc.agent.*.terminal', {
      callback: (e, m) => {
        if (!e) heard.push(m.subject);
      },
    });
    await denied;
    const sessions = auto.subscribe('gc.agent.*.sessions', { max: 1 });
    await auto.flush();
    agent.publish('gc.agent.agent-live.terminal', te.encode('password123'));
    agent.publish('gc.agent.agent-live.sessions', te.encode('list'));
    for await (const m of sessions) assert.equal(m.subject, 'gc.agent.agent-live.sessions');
    assert.deepEqual(heard, []);
  });

  it('service names are reserved agent ids, and an id is issued credentials once unless re-keyed on purpose', async () => {
    for (const id of ['projections', 'auditor', 'automation', 'gateway', 'launcher', 'Projections']) {
      const r = await setup.issueAgentCreds(id);
      assert.ok(!r.ok && r.error.code === 'CONFLICT', `${id} must be refused`);
    }
    assert.ok(reservedAgentIds.includes('projections'));
    const first = await setup.issueAgentCreds('machine-1');
    assert.ok(first.ok);
    const again = await setup.issueAgentCreds('machine-1');
    assert.ok(!again.ok && again.error.code === 'CONFLICT' && /already has credentials/.test(again.error.message));
    const rekeyed = await setup.issueAgentCreds('machine-1', { reissue: true });
    assert.ok(rekeyed.ok && rekeyed.value.userKey !== first.value.userKey);
  });

  it("an agent cannot reach a service's inbox, whatever its id", async () => {
    const a = await setup.issueAgentCreds('s');
    assert.ok(a.ok, 'an agent may be called "s": its inbox is _INBOX.a.s, not the services\' _INBOX.s');
    const agent = await connect({ servers: nats.url, authenticator: credsAuthenticator(te.encode(a.value.creds)), inboxPrefix: agentInboxPrefix('s'), maxReconnectAttempts: 0 });
    open.push(agent);
    const heard: string[] = [];
    for (const subject of ['_INBOX.s.projections.>', '_INBOX.s.gateway.>', '_INBOX.>']) {
      const denied = permissionError(agent, subject);
      agent.subscribe(subject, {
        callback: (e, m) => {
          if (!e) heard.push(m.subject);
        },
      });
      await denied;
    }
    // The projections' own requests still work, and their replies reach no agent.
    const info = await (await jetstreamManager(projections, { checkAPI: false })).consumers.info('GC_EVENTS', 'machines');
    assert.equal(info.name, 'machines');
    await agent.flush();
    assert.deepEqual(heard, []);
  });
});
