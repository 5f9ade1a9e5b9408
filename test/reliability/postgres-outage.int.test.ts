/**
 * Fault: PostgreSQL is stopped for ~30 s (a real stop, then a start on the same port and data).
 * Meanwhile the gateway answers reads with READ_MODEL_UNAVAILABLE (503) and the projections pause
 * and retry; afterwards they catch up with nothing lost or doubled: the audit rows and the machines
 * row match the stream exactly, and the audit log verifies (stream and hash chain).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jetstream } from '@nats-io/jetstream';
import { openDb } from '../../infra/db/connect.js';
import { type Stack, startStack } from '../../infra/launcher/stack.js';
import { verifyAudit } from '../../projections/audit/verify.js';
import { encode, message } from '../../proto/codec.js';
import type { AgentId } from '../../proto/ids.js';
import { EventsApi, subjects } from '../../proto/subjects.js';
import { type Api, eventually, login } from '../support/api.js';
import { busAs, jetstreamManager, lastSeq, lastSeqOn, pg, waitForCheckpoint } from './support.js';

const OUTAGE_MS = Number(process.env.GC_PG_OUTAGE_MS ?? 30_000);

describe('fault: PostgreSQL down for ~30 s', { timeout: 180_000 }, () => {
  let stack: Stack;
  let dir: string;
  let admin: Api;
  const agentId = 'pg-outage-agent' as AgentId;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gc-pgout-'));
    stack = await startStack({ dataDir: dir, port: 0, agentId, heartbeatMs: 500, fastPostgres: true });
    admin = await login(stack.url, stack.admin.name, stack.admin.password);
    await eventually(async () => ((await admin.get<{ online: boolean }>(`/api/machines/${agentId}`)).body.online ? true : undefined), 'the agent online');
  });
  after(async () => {
    await stack?.stop();
    if (dir && !process.env.GC_KEEP) rmSync(dir, { recursive: true, force: true });
  });

  it('answers 503 READ_MODEL_UNAVAILABLE while down, then catches up without loss or doubles', async () => {
    const nc = await busAs(stack, 'gateway');
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const probeIds: string[] = [];
    try {
      await stack.stopPostgres();
      const downAt = Date.now();

      // Reads fail fast with the envelope, never hang or 500.
      const r = await admin.get<{ error_code: string; message: string; correlation_id: string }>('/api/machines');
      assert.equal(r.status, 503, JSON.stringify(r.body));
      assert.equal(r.body.error_code, 'READ_MODEL_UNAVAILABLE');
      assert.ok(r.body.correlation_id);
      const health = await fetch(`${stack.url}/api/health`);
      assert.equal(health.status, 503);
      assert.deepEqual(await health.json(), { status: 'degraded', nats: true, database: false, read_side: null });

      // Facts keep arriving while the read side is down: agent heartbeats, and audit events.
      let i = 0;
      while (Date.now() - downAt < OUTAGE_MS) {
        for (let k = 0; k < 20; k++, i++) {
          const msg = message({ audit: { eventType: 'reliability_probe', detailsJson: JSON.stringify({ n: i }) } }, { agentId });
          probeIds.push(msg.meta!.id!);
          await js.publish(subjects.audit('reliability_probe'), encode(msg), { msgID: msg.meta!.id! });
        }
        const during = await admin.get<{ error_code: string }>(`/api/machines/${agentId}/windows-sessions`);
        assert.equal(during.body.error_code, 'READ_MODEL_UNAVAILABLE');
        await new Promise((res) => setTimeout(res, 1000));
      }
      const beforeRestart = await lastSeq(jsm);

      await stack.startPostgres();
      const upAt = Date.now();
      const db = new pg.Pool({ connectionString: stack.databaseUrl, max: 2 });
      try {
        await waitForCheckpoint(db, 'audit', beforeRestart).catch((e: Error) => {
          // Show what the projection worker said, so a stall can be diagnosed from the CI log.
          const log = readFileSync(join(dir, 'logs', 'projections.log'), 'utf8')
            .split('\n')
            .slice(-40)
            .join('\n');
          console.log(`--- last lines of projections.log:\n${log}`);
          throw e;
        });
        await waitForCheckpoint(db, 'machines', await lastSeqOn(jsm, subjects.agentEvent(agentId, 'status')));
        const caughtUpMs = Date.now() - upAt;
        let lastRead: unknown;
        const okRead = await eventually(async () => {
          const x = await admin.get<{ online: boolean }>(`/api/machines/${agentId}`);
          lastRead = x;
          return x.status === 200 ? x : undefined;
        }, 'reads served again').catch((e: Error) => assert.fail(`${e.message}; last answer ${JSON.stringify(lastRead)}`));
        console.log(
          `postgres down ${upAt - downAt} ms; ${probeIds.length} audit events and agent heartbeats published meanwhile; projections caught up ${caughtUpMs} ms after restart; reads ok ${Date.now() - upAt} ms after`,
        );
        assert.equal(okRead.body.online, true);

        // Every probe exactly once, in stream order, and nothing else under that type.
        const rows = await db.query<{ id: string; seq: string }>("select id, seq from events where event_type = 'reliability_probe' order by seq");
        assert.equal(rows.rowCount, probeIds.length);
        assert.deepEqual(
          rows.rows.map((x) => x.id),
          probeIds,
          'all probe rows, once each, in publish order',
        );
        const dupes = await db.query('select id from events group by id having count(*) > 1');
        assert.equal(dupes.rowCount, 0);

        // Stop the agent gracefully: its last status must be exactly what the machines row shows.
        await stack.services.agent!.stop();
        const last = Math.max(await lastSeqOn(jsm, subjects.agentEvent(agentId, 'status')), await lastSeqOn(jsm, subjects.agentEvent(agentId, 'sessions')));
        await waitForCheckpoint(db, 'machines', last);
        const m = await db.query<{ last_seq: string; state: string }>('select last_seq, state from machines where agent_id = $1', [agentId]);
        assert.equal(Number(m.rows[0]?.last_seq), last, 'the machines row reflects the last event of the agent');
        assert.equal(m.rows[0]?.state, 'stopped');
        // The audit log written before, during and after the outage verifies against the stream and
        // its own hash chain, as an auditor's `audit verify` would check it.
        const auditor = await busAs(stack, 'auditor');
        const kdb = openDb({ url: stack.databaseUrl });
        try {
          const v = await verifyAudit(auditor, kdb, { api: EventsApi.reader });
          assert.deepEqual(v.findings, []);
          assert.ok(v.rowsChecked > probeIds.length, `${v.rowsChecked} rows checked`);
        } finally {
          await kdb.destroy();
          await auditor.close();
        }
      } finally {
        await db.end();
      }
    } finally {
      await nc.close();
    }
  });
});
