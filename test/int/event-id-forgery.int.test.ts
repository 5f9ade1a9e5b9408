/**
 * An agent cannot suppress the gateway's audit events by publishing their ids first (the stream's
 * duplicate window is stream-wide). Real nats-server in operator mode with per-agent credentials,
 * real PostgreSQL, the real command client, presence watchdog and projections.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type NatsConnection, credsAuthenticator } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { Kysely } from 'kysely';
import { connectBus } from '../../proto/bus/connect.js';
import { ensureStreams } from '../../infra/bus/streams.js';
import { openDb } from '../../infra/db/connect.js';
import { migrateToLatest } from '../../infra/db/migrate.js';
import type { Database } from '../../infra/db/schema.js';
import { agentInboxPrefix } from '../../infra/nats-auth/permissions.js';
import { prepareNatsAuth } from '../../infra/nats-auth/setup.js';
import { auditProjection } from '../../projections/audit/audit.projection.js';
import { machinesProjection } from '../../projections/machines.projection.js';
import { startProjection } from '../../projections/runtime/start-projection.js';
import type { ProjectionWorker } from '../../projections/runtime/types.js';
import { decode, encode, message, pb } from '../../proto/codec.js';
import { ErrorCode } from '../../proto/errors.js';
import type { AgentId } from '../../proto/ids.js';
import { Streams, subjects } from '../../proto/subjects.js';
import { type AgentEvents, subscribeAgentEvents } from '../../services/gateway/bus/agent-events.js';
import { createAuditPublisher } from '../../services/gateway/bus/audit-publisher.js';
import { createCommandClient } from '../../services/gateway/bus/command-client.js';
import { commandFailureRecorder } from '../../services/gateway/bus/command-failures.js';
import { type EventIds, createEventIds } from '../../services/gateway/bus/event-ids.js';
import { startPresenceWatchdog } from '../../services/gateway/presence-watchdog.js';
import { eventually } from '../support/api.js';
import { type TestNats, type TestPostgres, startTestNats, startTestPostgres } from '../support/servers.js';

const AGENT = 'agent-a' as AgentId;
const admin = { userId: 'u-adm', userName: 'ann', role: 'admin' };

describe('forged event ids cannot suppress gateway audit events (real nats-server, operator mode)', { timeout: 120_000 }, () => {
  let authDir: string;
  let nats: TestNats;
  let pgs: TestPostgres;
  let db: Kysely<Database>;
  let launcher: NatsConnection;
  let gateway: NatsConnection;
  let agent: NatsConnection;
  let gwJs: JetStreamClient;
  let agentJs: JetStreamClient;
  let jsm: JetStreamManager;
  let events: AgentEvents;
  let workers: ProjectionWorker[] = [];
  const eventIds: EventIds = createEventIds(randomBytes(32));

  before(async () => {
    authDir = mkdtempSync(join(tmpdir(), 'gc-forgery-'));
    const setup = await prepareNatsAuth(authDir);
    [nats, pgs] = await Promise.all([startTestNats(setup.serverConfig), startTestPostgres()]);
    launcher = await connectBus({ servers: nats.url, name: 'launcher', credsFile: await setup.credsFor('launcher') });
    jsm = await jetstreamManager(launcher);
    await ensureStreams(jsm);
    gateway = await connectBus({ servers: nats.url, name: 'gateway', credsFile: await setup.credsFor('gateway') });
    gwJs = jetstream(gateway);
    const creds = await setup.issueAgentCreds(AGENT);
    assert.ok(creds.ok);
    agent = await connect({
      servers: nats.url,
      authenticator: credsAuthenticator(new TextEncoder().encode(creds.value.creds)),
      inboxPrefix: agentInboxPrefix(AGENT),
      maxReconnectAttempts: 0,
      name: 'forging-agent',
    });
    agentJs = jetstream(agent);
    db = openDb({ url: pgs.url });
    await migrateToLatest(db);
    workers = [await startProjection(auditProjection, { nc: launcher, db }), await startProjection(machinesProjection, { nc: launcher, db })];
    events = subscribeAgentEvents(gateway, () => {});
  });
  after(async () => {
    events?.close();
    for (const w of workers) await w.stop().catch(() => {});
    for (const nc of [agent, gateway, launcher]) await nc?.close().catch(() => {});
    await db?.destroy();
    await Promise.all([nats?.stop(), pgs?.stop()]);
    if (authDir) rmSync(authDir, { recursive: true, force: true });
  });

  /** The agent stores a harmless event (an output chunk, folded into nothing) under `msgId`; its sequence, or 0 if dropped. */
  const forge = async (msgId: string): Promise<number> => {
    const m = message({ backstageOutput: { chunk: { data: 'forged' } } }, { id: msgId, agentId: AGENT });
    const ack = await agentJs.publish(subjects.agentEvent(AGENT, 'backstageOutput'), encode(m), { msgID: msgId });
    return ack.duplicate ? 0 : ack.seq;
  };

  it("an agent that publishes command_failed-<id> (and the command's own id) first does not stop the gateway's command_failed", async () => {
    const forged: Record<string, number> = {};
    const sub = agent.subscribe(subjects.commandsFor(AGENT), {
      callback: (_e, m) => {
        const r = decode(m.data, m.subject);
        if (!r.ok) return;
        const cid = r.value.meta.id;
        // Everything the agent can see or derive: the old id scheme, the command's id, its correlation.
        void (async () => {
          for (const id of [`command_failed-${cid}`, cid, `${cid}-command_failed`]) forged[id] = await forge(id);
        })();
      },
    });
    await agent.flush();
    const commands = createCommandClient(gateway, gwJs, events, {
      offlineAfterBeats: 3,
      recordFailure: commandFailureRecorder(
        createAuditPublisher(gwJs, () => {}),
        eventIds,
      ),
    });
    const r = await commands.issue(AGENT, 'backstage', { backstageCommand: { commandType: pb.BackstageCommandType.BACKSTAGE_LIST_SERVICES } }, { actor: admin, timeoutMs: 1500 });
    sub.unsubscribe();
    assert.equal(!r.ok && r.error.code, ErrorCode.TIMEOUT);
    const cid = Object.keys(forged)
      .find((k) => k.startsWith('command_failed-'))!
      .slice('command_failed-'.length);
    // The attack is real: the agent's forged id was stored, so the old derived id would have been dropped...
    assert.ok(forged[`command_failed-${cid}`]! > 0, 'the forged old-style id was stored');
    assert.equal(forged[cid], 0, "the command's own id is already taken by the command");
    const old = await gwJs.publish(subjects.audit('command_failed'), encode(message({ audit: { eventType: 'command_failed' } }, { id: `command_failed-${cid}` })), { msgID: `command_failed-${cid}` });
    assert.equal(old.duplicate, true, 'an old-style command_failed would have been swallowed');
    // ...but the gateway's event, under its keyed id, is in the stream.
    const stored = await jsm.streams.getMessage(Streams.events.name, { last_by_subj: subjects.audit('command_failed') });
    assert.ok(stored);
    assert.ok(stored.seq > forged[`command_failed-${cid}`]!, 'the forgery came first');
    const failed = decode(stored.data);
    assert.ok(failed.ok);
    assert.equal(failed.value.meta.id, eventIds.commandFailed(cid));
    assert.equal(failed.value.meta.correlationId, cid);
    assert.equal(JSON.parse(failed.value.audit?.detailsJson ?? '{}').error_code, ErrorCode.TIMEOUT);
    // And the audit projection closes the command with it, as before.
    const row = await eventually(async () => db.selectFrom('events').selectAll().where('id', '=', cid).executeTakeFirst(), 'the audit row of the failed command');
    assert.equal((row.details as Record<string, unknown>).failed_by, 'gateway');
    assert.equal((row.details as Record<string, unknown>).error_code, ErrorCode.TIMEOUT);
    assert.equal(row.user_name, 'ann');
  });

  it('an agent that publishes agent_offline-<self>-<last heartbeat> first does not stop the watchdog recording it', async () => {
    const lastBeat = Date.now();
    const beat = message({ agentStatus: { hostname: 'pc-a', version: '1', heartbeatIntervalMs: 200 } }, { agentId: AGENT, atMs: lastBeat });
    await agentJs.publish(subjects.agentEvent(AGENT, 'status'), encode(beat), { msgID: beat.meta!.id! });
    await eventually(
      async () => (await db.selectFrom('machines').select('last_seen').where('agent_id', '=', AGENT).executeTakeFirst())?.last_seen.getTime() === lastBeat || undefined,
      'the machine row',
    );
    // The agent knows its last heartbeat's time, so it knows the old id, and goes silent after storing it.
    const forgedSeq = await forge(`agent_offline-${AGENT}-${lastBeat}`);
    assert.ok(forgedSeq > 0);
    const watchdog = startPresenceWatchdog(db, gwJs, { offlineAfterBeats: 1.5, everyMs: 100, eventIds, log: () => {} });
    try {
      const offline = await eventually(async () => {
        const m = await jsm.streams.getMessage(Streams.events.name, { last_by_subj: subjects.audit('agent_offline') }).catch(() => null);
        return m ?? undefined;
      }, 'an agent_offline event in the stream');
      assert.ok(offline.seq > forgedSeq);
      const d = decode(offline.data);
      assert.ok(d.ok);
      assert.equal(d.value.meta.id, eventIds.agentOffline(AGENT, lastBeat));
      assert.equal(d.value.meta.agentId, AGENT);
    } finally {
      watchdog.stop();
    }
  });
});
