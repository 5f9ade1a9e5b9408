/**
 * Postgres audit retention against real nats-server and PostgreSQL: prune keeps exactly the rows
 * inside the window and anchors the chain; verify passes after a prune and still catches deletions
 * and a forged anchor; a rebuild re-applies the retention; a stream that aged out its first events
 * is verified from what it still holds; the CLI and the projections process prune. Time is
 * controlled by the events' meta.at_ms, never slept.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { type Kysely, sql } from 'kysely';
import { connectBus } from '../../proto/bus/connect.js';
import { eventStreamConfig } from '../../infra/bus/streams.js';
import { openDb } from '../../infra/db/connect.js';
import { migrateToLatest } from '../../infra/db/migrate.js';
import type { Database } from '../../infra/db/schema.js';
import { type Child, startChild } from '../../infra/servers/child.js';
import { encode, message, pb } from '../../proto/codec.js';
import type { AgentId } from '../../proto/ids.js';
import { Streams, subjects } from '../../proto/subjects.js';
import { auditProjection } from '../../projections/audit/audit.projection.js';
import { retentionAnchors } from '../../projections/audit/retention-anchor.js';
import { pruneAudit } from '../../projections/audit/retention-prune.js';
import { verifyAudit } from '../../projections/audit/verify.js';
import { verifyTampered } from '../support/audit-tamper.js';
import { rebuildProjection } from '../../projections/rebuild/rebuild.js';
import { startProjection } from '../../projections/runtime/start-projection.js';
import { type Backbone, type TestNats, type TestPostgres, startBackbone, startTestNats, startTestPostgres } from '../support/servers.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const run = promisify(execFile);
const A = 'pc-ret' as AgentId;
const ann = { userId: 'u-adm', userName: 'ann', role: 'admin' };
const DAY = 86_400_000;
const NOW = new Date(Date.UTC(2030, 5, 1));
const ago = (days: number) => NOW.getTime() - days * DAY;

/** Publishes our kinds of events with chosen times; returns the last sequence. */
function publisher(js: JetStreamClient) {
  let last = 0;
  const pub = async (subject: string, m: ReturnType<typeof message>) => {
    last = (await js.publish(subject, encode(m), { msgID: m.meta!.id! })).seq;
    return last;
  };
  return {
    last: () => last,
    status: (at: number, stopping = false) =>
      pub(subjects.agentEvent(A, 'status'), message({ agentStatus: { hostname: 'pc-ret', version: '1.0', ...(stopping ? { state: pb.AgentState.AGENT_STOPPING } : {}) } }, { agentId: A, atMs: at })),
    audit: (t: string, at: number) => pub(subjects.audit(t), message({ audit: { eventType: t, detailsJson: JSON.stringify({ at }) } }, { agentId: A, actor: ann, atMs: at })),
    backstage: (id: string, at: number) =>
      pub(
        subjects.command(A, 'backstage'),
        message({ backstageCommand: { commandType: pb.BackstageCommandType.BACKSTAGE_EXEC_COMMAND, commandText: 'whoami', shell: pb.Shell.SHELL_CMD } }, { id, agentId: A, actor: ann, atMs: at }),
      ),
    output: (cid: string, at: number) =>
      pub(
        subjects.agentEvent(A, 'backstageOutput'),
        message({ backstageOutput: { final: true, commandOutput: { exitCode: 0, durationMs: 30, outputBytes: 4, runAsUser: 'SYSTEM' } } }, { agentId: A, correlationId: cid, atMs: at }),
      ),
    switchTo: (id: string, at: number) =>
      pub(subjects.command(A, 'switchSession'), message({ switchSession: { fromSessionId: 1, targetSessionId: 2, viewerId: 'cs-1' } }, { id, agentId: A, actor: ann, atMs: at })),
    switched: (cid: string, at: number) =>
      pub(
        subjects.agentEvent(A, 'switched'),
        message({ sessionSwitched: { ok: true, fromSessionId: 1, toSessionId: 2, viewerId: 'cs-1', durationMs: 20 } }, { agentId: A, correlationId: cid, atMs: at }),
      ),
  };
}

/** Runs the audit projection until it has applied everything up to `last`. */
async function project(nc: NatsConnection, db: Kysely<Database>, last: number): Promise<void> {
  const w = await startProjection(auditProjection, { nc, db });
  assert.ok(await w.caughtUp(last), 'audit projection caught up');
  await w.stop();
}

const rowsOf = async (db: Kysely<Database>) => (await db.selectFrom('events').selectAll().orderBy('seq').execute()).map((r) => ({ ...r, seq: Number(r.seq) }));
const tableDump = async (db: Kysely<Database>, table: string, order: string) => (await sql<Record<string, unknown>>`select * from ${sql.table(table)} order by ${sql.raw(order)}`.execute(db)).rows;
const findings = (r: Awaited<ReturnType<typeof verifyAudit>>) => r.findings.map((f) => [f.kind, f.id]).sort();

describe('audit retention in PostgreSQL (real nats-server and PostgreSQL)', () => {
  let backbone: Backbone | undefined;
  let nc: NatsConnection;
  let db: Kysely<Database>;
  let p: ReturnType<typeof publisher>;
  let beforePrune: Awaited<ReturnType<typeof rowsOf>> = [];

  before(async () => {
    backbone = await startBackbone();
    ({ nc, db } = backbone);
    p = publisher(backbone.js);
  });
  after(async () => {
    await backbone?.stop();
  });

  it('prune keeps exactly the rows from the first one inside the window and anchors the chain', async () => {
    await p.status(ago(60)); // seq 1: agent_online
    await p.audit('login', ago(50)); // 2
    await p.backstage('bc-1', ago(45)); // 3: pending
    await p.audit('viewer_joined', ago(40)); // 4
    await p.output('bc-1', ago(39)); // 5: backstage_command, created at its request (45 days ago)
    await p.switchTo('sw-1', ago(31)); // 6: pending
    await p.audit('access_denied', ago(35)); // 7: last row of the prefix
    await p.audit('viewer_left', ago(20)); // 8: first row inside the 30-day window
    await p.audit('login', ago(33)); // 9: old, but after a kept row: kept
    await p.switched('sw-1', ago(5)); // 10: session_switched, created 31 days ago, kept
    await p.status(ago(4)); // 11: heartbeat, no row
    await p.audit('backstage_entered', ago(1)); // 12
    await project(nc, db, p.last());
    beforePrune = await rowsOf(db);
    assert.deepEqual(
      beforePrune.map((r) => r.seq),
      [1, 2, 4, 5, 7, 8, 9, 10, 12],
    );
    // Without any anchor, deleting the oldest rows is still evident: the chain starts at genesis.
    const noAnchor = await verifyTampered(nc, db, async (trx) => {
      await trx.deleteFrom('events').where('seq', '=', '1').execute();
    });
    assert.deepEqual(
      findings(noAnchor),
      [
        ['chain_broken', beforePrune[1]!.id],
        ['missing', beforePrune[0]!.id],
      ].sort(),
    );

    // Small chunks: one anchor row, advanced by each transaction.
    const r = await pruneAudit(db, { olderThanDays: 30, now: NOW, chunkRows: 2 });
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    assert.equal(r.value.deleted, 5);
    assert.deepEqual([r.value.fromSeq, r.value.throughSeq, r.value.firstKept?.seq], [1, 7, 8]);
    const kept = await rowsOf(db);
    assert.deepEqual(
      kept,
      beforePrune.filter((x) => x.seq > 7),
      'kept rows untouched, every one from the first in-window row on',
    );
    assert.deepEqual(
      kept.map((x) => [x.seq, x.event_type]),
      [
        [8, 'viewer_left'],
        [9, 'login'],
        [10, 'session_switched'],
        [12, 'backstage_entered'],
      ],
    );
    const anchors = await retentionAnchors(db);
    assert.equal(anchors.length, 1);
    assert.deepEqual(
      { ...anchors[0], ranAt: undefined },
      {
        fromSeq: 1,
        throughSeq: 7,
        lastDeletedHash: beforePrune.find((x) => x.seq === 7)!.hash,
        cutoff: new Date(ago(30)),
        deletedCount: 5,
        ranAt: undefined,
      },
    );
    const again = await pruneAudit(db, { olderThanDays: 30, now: NOW });
    assert.ok(again.ok && again.value.deleted === 0 && again.value.firstKept?.seq === 8, 'a second prune finds nothing');
    assert.equal((await retentionAnchors(db)).length, 1);
  });

  it('verify passes after the prune, and the live projection chains on', async () => {
    const r = await verifyAudit(nc, db);
    assert.deepEqual(r.findings, []);
    assert.equal(r.rowsChecked, 4);
    assert.equal(r.streamFirstSeq, 1);
    await p.audit('viewer_joined', ago(0.5));
    await p.status(ago(0.4), true);
    await project(nc, db, p.last());
    assert.deepEqual((await rowsOf(db)).map((x) => x.event_type).slice(-2), ['viewer_joined', 'agent_offline']);
    assert.deepEqual((await verifyAudit(nc, db)).findings, []);
  });

  it('verify catches a DELETE of the oldest kept row done behind its back', async () => {
    const kept = await rowsOf(db);
    const r = await verifyTampered(nc, db, async (trx) => {
      await trx.deleteFrom('events').where('id', '=', kept[0]!.id).execute();
    });
    assert.deepEqual(
      findings(r),
      [
        ['chain_broken', kept[1]!.id],
        ['missing', kept[0]!.id],
      ].sort(),
    );
  });

  it('verify catches a forged anchor: a wrong hash, or one moved over deleted rows inside the window', async () => {
    const kept = await rowsOf(db);
    const wrongHash = await verifyTampered(nc, db, async (trx) => {
      await trx
        .updateTable('audit_retention_anchor')
        .set({ last_deleted_hash: 'f'.repeat(64) })
        .execute();
    });
    assert.deepEqual(
      findings(wrongHash),
      [
        ['anchor_mismatch', 'anchor@7'],
        ['chain_broken', kept[0]!.id],
      ].sort(),
    );
    // The careful forger: deletes the two oldest kept rows and moves the anchor over them with the
    // right hash, so the chain checks out; but the stream says they were inside the cutoff.
    const moved = await verifyTampered(nc, db, async (trx) => {
      await trx.deleteFrom('events').where('seq', '<=', String(kept[1]!.seq)).execute();
      await trx.updateTable('audit_retention_anchor').set({ through_seq: kept[1]!.seq, last_deleted_hash: kept[1]!.hash }).execute();
    });
    assert.deepEqual(findings(moved), [['anchor_mismatch', `anchor@${kept[1]!.seq}`]]);
    assert.match(moved.findings[0]!.detail, new RegExp(`pruned row ${kept[0]!.id} .* inside the anchor's cutoff`));
    const resurrected = await verifyTampered(nc, db, async (trx) => {
      const old = beforePrune.find((x) => x.seq === 7)!;
      await trx
        .insertInto('events')
        .values({ ...old, details: JSON.stringify(old.details) as unknown as Record<string, unknown> })
        .execute();
    });
    assert.deepEqual(
      findings(resurrected),
      [
        ['anchor_mismatch', beforePrune.find((x) => x.seq === 7)!.id],
        ['chain_broken', beforePrune.find((x) => x.seq === 7)!.id],
      ].sort(),
    );
  });

  it('a rebuild after the prune gives the same rows: pruned rows are not resurrected', async () => {
    const live = { events: await tableDump(db, 'events', 'seq'), pending: await tableDump(db, 'audit_pending', 'command_id'), agents: await tableDump(db, 'audit_agents', 'agent_id') };
    const r = await rebuildProjection({ nc, db, def: auditProjection });
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    assert.deepEqual(await tableDump(db, 'events', 'seq'), live.events);
    assert.deepEqual(await tableDump(db, 'audit_pending', 'command_id'), live.pending);
    assert.deepEqual(await tableDump(db, 'audit_agents', 'agent_id'), live.agents);
    assert.deepEqual((await verifyAudit(nc, db)).findings, []);
  });

  it('a rebuild refuses to swap when the rebuilt chain disagrees with the anchor', async () => {
    const before = await tableDump(db, 'events', 'seq');
    await db
      .updateTable('audit_retention_anchor')
      .set({ last_deleted_hash: '0'.repeat(64) })
      .execute();
    const r = await rebuildProjection({ nc, db, def: auditProjection });
    assert.ok(!r.ok && r.error.code === 'CONFLICT' && /retention anchor at seq 7/.test(r.error.message), r.ok ? 'swapped' : r.error.message);
    assert.deepEqual(await tableDump(db, 'events', 'seq'), before, 'nothing swapped');
    await db
      .updateTable('audit_retention_anchor')
      .set({ last_deleted_hash: beforePrune.find((x) => x.seq === 7)!.hash })
      .execute();
  });

  it('pruning every row leaves the anchor as the head: new rows chain onto it, verify and rebuild agree', async () => {
    const all = await rowsOf(db);
    const r = await pruneAudit(db, { olderThanDays: 30, now: new Date(NOW.getTime() + 1000 * DAY) });
    assert.ok(r.ok && r.value.deleted === all.length && r.value.firstKept === undefined);
    assert.equal((await rowsOf(db)).length, 0);
    assert.deepEqual(
      (await retentionAnchors(db)).map((a) => [a.throughSeq, a.lastDeletedHash]),
      [
        [7, beforePrune.find((x) => x.seq === 7)!.hash],
        [all.at(-1)!.seq, all.at(-1)!.hash],
      ],
    );
    await p.audit('login', NOW.getTime());
    await project(nc, db, p.last());
    const after = await rowsOf(db);
    assert.equal(after.length, 1);
    assert.deepEqual((await verifyAudit(nc, db)).findings, []);
    const rebuilt = await rebuildProjection({ nc, db, def: auditProjection });
    assert.ok(rebuilt.ok, rebuilt.ok ? '' : rebuilt.error.message);
    assert.deepEqual(await rowsOf(db), after);
  });
});

describe('audit verify when stream retention aged out the first events', () => {
  let nats: TestNats | undefined;
  let pgs: TestPostgres | undefined;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let db: Kysely<Database>;
  let p: ReturnType<typeof publisher>;

  before(async () => {
    [nats, pgs] = await Promise.all([startTestNats(), startTestPostgres()]);
    nc = await connectBus({ servers: nats.url, name: 'test' });
    jsm = await jetstreamManager(nc);
    // As max_age would, but now: purge needs deny_purge off (production streams deny it).
    await jsm.streams.add({ ...eventStreamConfig(), deny_purge: false });
    db = openDb({ url: pgs.url });
    await migrateToLatest(db);
    p = publisher(jetstream(nc));
  });
  after(async () => {
    await db?.destroy();
    await nc?.close();
    await Promise.all([nats?.stop(), pgs?.stop()]);
  });

  it('checks the chain in full and every row the remaining stream determines; still catches edits and deletions', async () => {
    await p.status(ago(60)); // 1 agent_online
    await p.audit('login', ago(59)); // 2
    await p.backstage('bc-old', ago(58)); // 3 request: will age out
    await p.audit('viewer_joined', ago(57)); // 4
    await p.status(ago(56)); // 5 heartbeat: first event the stream keeps
    await p.output('bc-old', ago(55)); // 6 command row whose request aged out
    await p.audit('viewer_left', ago(54)); // 7
    await p.backstage('bc-new', ago(53)); // 8
    await p.output('bc-new', ago(52)); // 9
    await p.audit('access_denied', ago(10)); // 10
    await project(nc, db, p.last());
    await jsm.streams.purge(Streams.events.name, { seq: 5 });
    const stored = await rowsOf(db);
    assert.deepEqual(
      stored.map((x) => x.seq),
      [1, 2, 4, 6, 7, 9, 10],
    );

    const r = await verifyAudit(nc, db);
    assert.deepEqual(r.findings, []);
    assert.equal(r.streamFirstSeq, 5);
    assert.equal(r.unverifiable, 3, 'rows 1, 2 and 4 are older than the stream');
    assert.ok(r.notes.some((n) => n.includes('starts at seq 5')));

    const row = (seq: number) => stored.find((x) => x.seq === seq)!;
    const edited = await verifyTampered(nc, db, async (trx) => {
      await trx.updateTable('events').set({ user_name: 'mallory' }).where('seq', '=', '9').execute();
    });
    assert.deepEqual(
      findings(edited),
      [
        ['altered', row(9).id],
        ['chain_broken', row(9).id],
      ].sort(),
    );
    const deleted = await verifyTampered(nc, db, async (trx) => {
      await trx.deleteFrom('events').where('seq', '=', '7').execute();
    });
    assert.deepEqual(
      findings(deleted),
      [
        ['chain_broken', row(9).id],
        ['missing', row(7).id],
      ].sort(),
    );
    const oldEdited = await verifyTampered(nc, db, async (trx) => {
      await trx.updateTable('events').set({ user_name: 'mallory' }).where('seq', '=', '2').execute();
    });
    assert.deepEqual(findings(oldEdited), [['chain_broken', row(2).id]], 'older than the stream: the chain still vouches');
  });

  it('prunes and verifies with the anchor, and refuses an audit rebuild that would re-chain the log', async () => {
    const pr = await pruneAudit(db, { olderThanDays: 30, now: NOW });
    assert.ok(pr.ok && pr.value.deleted === 6 && pr.value.throughSeq === 9);
    const r = await verifyAudit(nc, db);
    assert.deepEqual(r.findings, []);
    assert.equal(r.rowsChecked, 1);
    const kept = await rowsOf(db);
    const forged = await verifyTampered(nc, db, async (trx) => {
      await trx
        .updateTable('audit_retention_anchor')
        .set({ last_deleted_hash: 'f'.repeat(64) })
        .execute();
    });
    assert.deepEqual(findings(forged), [['chain_broken', kept[0]!.id]]);
    const rebuilt = await rebuildProjection({ nc, db, def: auditProjection });
    assert.ok(!rebuilt.ok && rebuilt.error.code === 'CONFLICT' && /starts at seq 5/.test(rebuilt.error.message));
    assert.deepEqual(await rowsOf(db), kept);
  });
});

describe('audit prune from the CLI and in the projections process', () => {
  let backbone: Backbone | undefined;
  let child: Child | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'gc-prune-'));
  const logFile = join(dir, 'projections.log');
  const env = () => ({ ...process.env, GC_DATA_DIR: dir, NATS_URL: backbone!.nats.url, DATABASE_URL: backbone!.pgs.url, GC_AUDIT_RETENTION_DAYS: '' });
  const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
    run(process.execPath, ['--import', 'tsx', join(repo, 'infra/launcher/cli.ts'), ...args], { cwd: repo, env: { ...env(), ...extra } }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );
  const projectionsProcess = (extra: NodeJS.ProcessEnv) => startChild(process.execPath, ['--import', 'tsx', join(repo, 'projections/main.ts')], { logFile, cwd: repo, env: { ...env(), ...extra } });

  before(async () => {
    backbone = await startBackbone();
  });
  after(async () => {
    await child?.stop();
    await backbone?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('npm run guruconnect -- audit prune --older-than-days N prints what it deleted', async () => {
    const p = publisher(backbone!.js);
    const now = Date.now();
    await p.audit('login', now - 3 * DAY); // 1
    await p.audit('viewer_joined', now - 2 * DAY); // 2
    await p.audit('viewer_left', now - 1.5 * DAY); // 3
    await p.audit('login', now); // 4
    await project(backbone!.nc, backbone!.db, p.last());
    const r = await cli(['audit', 'prune', '--older-than-days', '2.5']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      (await rowsOf(backbone!.db)).map((x) => x.seq),
      [2, 3, 4],
    );
    const hash = (await retentionAnchors(backbone!.db))[0]?.lastDeletedHash;
    assert.match(r.stdout, /^deleted 1 audit rows, seq 1\.\.1, created before /);
    assert.ok(hash && r.stdout.includes(`anchor: through seq 1, last deleted hash ${hash}`), r.stdout);
    assert.match(r.stdout, /first kept row: seq 2/);
    const none = await cli(['audit', 'prune']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /nothing to do/);
    const bad = await cli(['audit', 'prune', '--older-than-days', '-3']);
    assert.equal(bad.code, 2);
  });

  it('the projections process refuses a bad GC_AUDIT_RETENTION_DAYS, and prunes by it while it runs', async () => {
    const refused = projectionsProcess({ GC_AUDIT_RETENTION_DAYS: 'a week' });
    assert.equal(await refused.exited, 2);
    assert.match(readFileSync(logFile, 'utf8'), /GC_AUDIT_RETENTION_DAYS/);
    child = projectionsProcess({ GC_AUDIT_RETENTION_DAYS: '1', GC_AUDIT_PRUNE_INTERVAL_MS: '200' });
    const until = Date.now() + 60_000;
    for (let anchors = await retentionAnchors(backbone!.db); anchors.at(-1)?.throughSeq !== 3; anchors = await retentionAnchors(backbone!.db)) {
      const state = `exit ${child.proc.exitCode}, anchors ${JSON.stringify(anchors)}, rows ${(await rowsOf(backbone!.db)).map((x) => x.seq)}`;
      assert.ok(Date.now() < until && child.proc.exitCode === null, `pruned by the projections process (${state}; log: ${readFileSync(logFile, 'utf8')})`);
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.deepEqual(
      (await rowsOf(backbone!.db)).map((x) => x.seq),
      [4],
    );
    assert.match(readFileSync(logFile, 'utf8'), /audit retention: deleted 2 rows \(seq 2\.\.3\)/);
    assert.deepEqual((await verifyAudit(backbone!.nc, backbone!.db)).findings, []);
  });
});
