/**
 * Fault: nats-server is stopped and started again on the same port and store while the agent
 * publishes and a backstage command runs. Agent and gateway reconnect by themselves; the running
 * command completes once, and republishing it with the same Nats-Msg-Id and
 * meta.id after the restart does not run it again; new commands work; nothing stored is lost.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jetstream } from '@nats-io/jetstream';
import { type Stack, startStack } from '../../infra/launcher/stack.js';
import { decode } from '../../proto/codec.js';
import { Streams, subjects } from '../../proto/subjects.js';
import type { AgentId } from '../../proto/ids.js';
import { type Api, eventually, login } from '../support/api.js';
import { busAs, jetstreamManager, lastSeq, pg, waitForCheckpoint } from './support.js';

describe('fault: nats-server restarted under traffic', { timeout: 150_000 }, () => {
  let stack: Stack;
  let dir: string;
  let admin: Api;
  let db: pg.Pool;
  const agentId = 'nats-restart-agent' as AgentId;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gc-nrestart-'));
    stack = await startStack({ dataDir: dir, port: 0, agentId, heartbeatMs: 500, fastPostgres: true });
    admin = await login(stack.url, stack.admin.name, stack.admin.password);
    db = new pg.Pool({ connectionString: stack.databaseUrl, max: 2 });
    await eventually(async () => ((await admin.get<{ online: boolean }>(`/api/machines/${agentId}`)).body.online ? true : undefined), 'the agent online');
  });
  after(async () => {
    await db?.end();
    await stack?.stop();
    if (dir && !process.env.GC_KEEP) rmSync(dir, { recursive: true, force: true });
  });

  it('reconnects everyone, never runs the command twice, and takes new commands', async () => {
    const file = join(dir, 'runs.txt');
    const pending = admin.post<{ command_id?: string; stdout?: string; error_code?: string }>(`/api/machines/${agentId}/backstage/exec`, {
      command: `echo run >> ${file}; sleep 2; echo done`,
      timeout_secs: 30,
    });
    await eventually(async () => (existsSync(file) ? true : undefined), 'the command running');

    const down = Date.now();
    await stack.stopNats();
    await new Promise((r) => setTimeout(r, 1500));
    await stack.startNats();
    const up = Date.now();

    const first = await pending;
    console.log(`running command outcome: ${first.status} ${first.body.error_code ?? 'completed'} (nats down ${up - down} ms)`);
    // Gateway and agent reconnect within a reconnect wait (250 ms) of the server's return, well inside
    // the command's 2 s and the gateway's allowance of missed beats, which restarts at its reconnect;
    // an answer published while the gateway was deaf is replayed from the stream. So it completes.
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.stdout, 'done\n');

    // Redeliver the very same command (same bytes, same Nats-Msg-Id) as a retrying gateway would.
    const nc = await busAs(stack, 'launcher');
    try {
      const jsm = await jetstreamManager(nc);
      const stored = await jsm.streams.getMessage(Streams.events.name, { last_by_subj: subjects.command(agentId, 'backstage') });
      assert.ok(stored, 'the command is in the stream');
      const cmd = decode(stored.data, stored.subject);
      assert.ok(cmd.ok && cmd.value.backstageCommand?.commandText?.includes('runs.txt'), 'the stored command is ours');
      const ack = await jetstream(nc).publish(stored.subject, stored.data, { msgID: cmd.value.meta.id });
      assert.equal(ack.duplicate, true, 'the stream recognises the repeat by Nats-Msg-Id');
      // And once more on core NATS, as a replayed live delivery. Flushed: the server has routed both
      // to the agent before the next command below is even sent, so the agent sees them first.
      nc.publish(stored.subject, stored.data);
      await nc.flush();

      // New commands work once everyone has reconnected (recovery time = until the first succeeds).
      const next = await eventually(
        async () => {
          const r = await admin.post<{ stdout: string }>(`/api/machines/${agentId}/backstage/exec`, { command: 'echo after-restart' });
          return r.status === 200 ? r : undefined;
        },
        'a new command after the restart',
        30_000,
      );
      console.log(`first new command succeeded ${Date.now() - up} ms after nats-server was back`);
      assert.equal(next.body.stdout, 'after-restart\n');

      await eventually(async () => ((await admin.get<{ online: boolean }>(`/api/machines/${agentId}`)).body.online ? true : undefined), 'the agent online again');
      // Everything stored reached the projections (audit reads the whole stream).
      await waitForCheckpoint(db, 'audit', await lastSeq(jsm));
      const dupes = await db.query('select id from events group by id having count(*) > 1');
      assert.equal(dupes.rowCount, 0);

      // Both repeats reached the agent and were refused as already run (it logs each refusal with the
      // command's id); the command's first line is its only one.
      const refusals = () =>
        readFileSync(join(dir, 'logs', 'agent.log'), 'utf8')
          .split('\n')
          .filter((l) => l.includes(`refused stored command ${cmd.value.meta.id} `) && l.includes('already run'));
      await eventually(async () => (refusals().length >= 2 ? true : undefined), 'the agent refusing both repeats', 10_000).catch((e: Error) =>
        assert.fail(`${e.message}; refusals logged: ${JSON.stringify(refusals())}`),
      );
      assert.deepEqual(readFileSync(file, 'utf8').trim().split('\n'), ['run'], 'the command ran exactly once');
    } finally {
      await nc.close();
    }
  });
});
