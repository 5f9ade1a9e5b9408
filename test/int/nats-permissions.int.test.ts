import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type NatsConnection, PermissionViolationError, credsAuthenticator } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { connectBus } from '../../proto/bus/connect.js';
import { ensureStreams } from '../../infra/bus/streams.js';
import { type NatsAuthSetup, prepareNatsAuth } from '../../infra/nats-auth/setup.js';
import { agentInboxPrefix, inboxPrefixFor } from '../../infra/nats-auth/permissions.js';
import { type RawEvent, readStream } from '../../projections/runtime/read-stream.js';
import { EventsApi } from '../../proto/subjects.js';
import { type TestNats, startTestNats } from '../support/servers.js';

const te = new TextEncoder();

/** Resolves with the first permission violation the server reports on `nc` for `subject`. */
async function permissionError(nc: NatsConnection, operation: 'publish' | 'subscription', subject: string): Promise<PermissionViolationError> {
  for await (const s of nc.status()) {
    if (s.type === 'error' && s.error instanceof PermissionViolationError && s.error.operation === operation && s.error.subject === subject) return s.error;
  }
  throw new Error('connection closed before the permission error arrived');
}

/** Connects with creds text (as an agent does after enrollment). */
function connectCreds(url: string, creds: string, inboxPrefix?: string): Promise<NatsConnection> {
  return connect({ servers: url, authenticator: credsAuthenticator(te.encode(creds)), inboxPrefix, maxReconnectAttempts: 0, name: 'test' });
}

describe('per-agent and per-service NATS permissions (real nats-server, operator mode)', () => {
  let authDir: string;
  let setup: NatsAuthSetup;
  let nats: TestNats;
  let launcher: NatsConnection;
  let gateway: NatsConnection;
  let agentA: NatsConnection;
  let credsA: string;
  let staleConfig: string;
  const open: NatsConnection[] = [];

  before(async () => {
    authDir = mkdtempSync(join(tmpdir(), 'gc-nats-auth-'));
    setup = await prepareNatsAuth(authDir);
    staleConfig = setup.serverConfig;
    nats = await startTestNats(staleConfig);
    launcher = await connectBus({ servers: nats.url, name: 'launcher', credsFile: await setup.credsFor('launcher') });
    await ensureStreams(await jetstreamManager(launcher));
    gateway = await connectBus({ servers: nats.url, name: 'gateway', credsFile: await setup.credsFor('gateway') });
    const a = await setup.issueAgentCreds('agent-a');
    assert.ok(a.ok);
    credsA = a.value.creds;
    agentA = await connectCreds(nats.url, credsA, agentInboxPrefix('agent-a'));
    open.push(launcher, gateway, agentA);
  });
  after(async () => {
    for (const nc of open) await nc.close().catch(() => {});
    await nats?.stop();
    rmSync(authDir, { recursive: true, force: true });
  });

  it('refuses connections without credentials (no anonymous users, so no browser on the bus)', async () => {
    await assert.rejects(connect({ servers: nats.url, maxReconnectAttempts: 0 }), /authorization/i);
    await assert.rejects(connect({ servers: nats.url, user: 'admin', pass: 'admin', maxReconnectAttempts: 0 }), /authorization/i);
  });

  it('keeps keys owner-only and is idempotent', async () => {
    assert.equal(statSync(authDir).mode & 0o777, 0o700);
    assert.equal(statSync(join(authDir, 'operator.nk')).mode & 0o777, 0o600);
    assert.equal(statSync(await setup.credsFor('gateway')).mode & 0o777, 0o600);
    const again = await prepareNatsAuth(authDir);
    assert.equal(again.appAccountKey, setup.appAccountKey);
    assert.equal(again.operatorKey, setup.operatorKey);
    assert.equal(await again.credsFor('gateway'), await setup.credsFor('gateway'));
  });

  it('agent A cannot publish as agent B, and the message never arrives', async () => {
    const seen: string[] = [];
    const sub = launcher.subscribe('gc.>', {
      callback: (_e, m) => {
        seen.push(m.subject);
      },
    });
    await launcher.flush();
    const denied = permissionError(agentA, 'publish', 'gc.agent.agent-b.status');
    agentA.publish('gc.agent.agent-b.status', te.encode('spoof'));
    agentA.publish('gc.frame.agent-b.1', te.encode('spoof'));
    // Same connection, same order: once A's own event arrives, a forbidden one would have arrived first.
    agentA.publish('gc.agent.agent-a.status', te.encode('mine'));
    await denied;
    while (!seen.includes('gc.agent.agent-a.status')) await launcher.flush();
    sub.unsubscribe();
    assert.deepEqual(seen, ['gc.agent.agent-a.status']);
  });

  it('agent A cannot publish any command, not even to itself', async () => {
    const seen: string[] = [];
    const sub = launcher.subscribe('gc.>', {
      callback: (_e, m) => {
        seen.push(m.subject);
      },
    });
    await launcher.flush();
    const denied = permissionError(agentA, 'publish', 'gc.cmd.agent-b.switch-session');
    agentA.publish('gc.cmd.agent-b.switch-session', te.encode('x'));
    agentA.publish('gc.cmd.agent-a.backstage', te.encode('x'));
    agentA.publish('gc.audit.login', te.encode('x'));
    agentA.publish('gc.agent.agent-a.status', te.encode('mine'));
    await denied;
    while (!seen.includes('gc.agent.agent-a.status')) await launcher.flush();
    sub.unsubscribe();
    assert.deepEqual(seen, ['gc.agent.agent-a.status']);
  });

  it('agent A cannot subscribe to agent B commands', async () => {
    const denied = permissionError(agentA, 'subscription', 'gc.cmd.agent-b.>');
    const sub = agentA.subscribe('gc.cmd.agent-b.>');
    const err = await denied;
    assert.match(err.message, /permissions violation/i);
    await assert.rejects(
      (async () => {
        for await (const _ of sub) {
          /* nothing may arrive */
        }
      })(),
      PermissionViolationError,
    );
  });

  it('agent A publishes its events with JetStream and receives its own commands', async () => {
    const js = jetstream(agentA);
    const ack = await js.publish('gc.agent.agent-a.sessions', te.encode('list'), { msgID: 'ev-a-1' });
    assert.equal(ack.stream, 'GC_EVENTS');
    assert.ok(ack.seq > 0);

    const cmds = agentA.subscribe('gc.cmd.agent-a.>', { max: 1 });
    await agentA.flush();
    const gwAck = await jetstream(gateway).publish('gc.cmd.agent-a.switch-session', te.encode('switch'), { msgID: 'cmd-a-1' });
    assert.equal(gwAck.stream, 'GC_EVENTS');
    for await (const m of cmds) {
      assert.equal(m.subject, 'gc.cmd.agent-a.switch-session');
      assert.equal(m.string(), 'switch');
    }
  });

  it('the agent answers a gateway request once through allow_responses', async () => {
    const cmds = agentA.subscribe('gc.cmd.agent-a.request-sessions', {
      max: 1,
      callback: (_e, m) => {
        m.respond(te.encode('pong'));
      },
    });
    await agentA.flush();
    const r = await gateway.request('gc.cmd.agent-a.request-sessions', te.encode('ping'), { timeout: 10_000 });
    assert.equal(r.string(), 'pong');
    await cmds.closed;
  });

  it('automation can watch agent events but cannot publish a command', async () => {
    const auto = await connectBus({ servers: nats.url, name: 'automation', credsFile: await setup.credsFor('automation') });
    open.push(auto);
    const sessions = auto.subscribe('gc.agent.*.sessions', { max: 1 });
    await auto.flush();
    agentA.publish('gc.agent.agent-a.sessions', te.encode('list-2'));
    for await (const m of sessions) assert.equal(m.string(), 'list-2');

    const seen: string[] = [];
    const sub = launcher.subscribe('gc.cmd.>', {
      callback: (_e, m) => {
        seen.push(m.subject);
      },
    });
    await launcher.flush();
    const denied = permissionError(auto, 'publish', 'gc.cmd.agent-a.backstage');
    auto.publish('gc.cmd.agent-a.backstage', te.encode('rd /s /q C:\\'));
    await denied;
    gateway.publish('gc.cmd.agent-a.input', te.encode('marker'));
    while (!seen.includes('gc.cmd.agent-a.input')) await launcher.flush();
    sub.unsubscribe();
    assert.ok(!seen.includes('gc.cmd.agent-a.backstage'));
  });

  it('the auditor reads the event stream by direct get through its own account and publishes nothing else', async () => {
    const aud = await connectBus({ servers: nats.url, name: 'auditor', credsFile: await setup.credsFor('auditor') });
    open.push(aud);
    const read: RawEvent[] = [];
    await readStream(aud, { api: EventsApi.reader, toSeq: 2 }, (b) => {
      read.push(...b);
    });
    assert.deepEqual(
      read.map((e) => e.seq),
      [1, 2],
    );
    assert.ok(read.every((e) => e.subject.startsWith('gc.') && e.timeMs > 0));
    const denied = permissionError(aud, 'publish', 'gc.cmd.agent-a.switch-session');
    aud.publish('gc.cmd.agent-a.switch-session', te.encode('x'));
    await denied;
  });

  it('projections consume with a durable consumer on GC_EVENTS', async () => {
    const proj = await connectBus({ servers: nats.url, name: 'projections', credsFile: await setup.credsFor('projections'), inboxPrefix: inboxPrefixFor('projections') });
    open.push(proj);
    const jsm = await jetstreamManager(proj, { checkAPI: false });
    await jsm.consumers.add('GC_EVENTS', { durable_name: 'test-proj', ack_policy: AckPolicy.Explicit });
    const c = await jetstream(proj).consumers.get('GC_EVENTS', 'test-proj');
    const m = await c.next({ expires: 5_000 });
    assert.ok(m);
    m.ack();
    await proj.flush();
    const denied = permissionError(proj, 'publish', 'gc.agent.agent-a.status');
    proj.publish('gc.agent.agent-a.status', te.encode('x'));
    await denied;
  });

  it('a revoked agent is disconnected at once and cannot reconnect; others stay', async () => {
    const b = await setup.issueAgentCreds('agent-b');
    assert.ok(b.ok);
    const agentB = await connectCreds(nats.url, b.value.creds, agentInboxPrefix('agent-b'));
    open.push(agentB);
    const r = await setup.revokeAgent('agent-a', nats.url);
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    assert.equal(r.value.revokedKeys.length, 1);
    await agentA.closed();
    assert.equal(agentA.isClosed(), true);
    await assert.rejects(connectCreds(nats.url, credsA, agentInboxPrefix('agent-a')), /authorization|revoked/i);
    await agentB.flush();
    assert.equal(agentB.isClosed(), false);
  });

  it('the revocation survives a nats-server restart, even with the fragment written before it', async () => {
    const stale = staleConfig;
    await nats.stop();
    nats = await startTestNats(stale);
    const boot = await connectBus({ servers: nats.url, name: 'launcher', credsFile: await setup.credsFor('launcher') });
    open.push(boot);
    await ensureStreams(await jetstreamManager(boot));
    await assert.rejects(connectCreds(nats.url, credsA, agentInboxPrefix('agent-a')), /authorization|revoked/i);
    const c = await setup.issueAgentCreds('agent-c');
    assert.ok(c.ok);
    const agentC = await connectCreds(nats.url, c.value.creds, agentInboxPrefix('agent-c'));
    open.push(agentC);
    const ack = await jetstream(agentC).publish('gc.agent.agent-c.status', te.encode('up'));
    assert.equal(ack.stream, 'GC_EVENTS');
  });
});
