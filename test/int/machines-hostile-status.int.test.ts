/**
 * An agent's status against the machines read model since migration 0008 (real nats-server and
 * PostgreSQL): the list's keyset index on (hostname, agent_id) is a B-tree, which refuses a row
 * over ~2.7 KB. An agent reporting a longer host name (any agent can: it is its own status) had
 * every status quarantined, one row per heartbeat without end, and its machine never updated.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { encode, message } from '../../proto/codec.js';
import type { AgentId } from '../../proto/ids.js';
import { subjects } from '../../proto/subjects.js';
import { projections } from '../../projections/all.js';
import { startProjection } from '../../projections/runtime/start-projection.js';
import type { ProjectionWorker } from '../../projections/runtime/types.js';
import { type Backbone, startBackbone } from '../support/servers.js';

// A liveness bound, not a timing assertion: a stalled projection never reaches the sequence.
const LIVE_MS = 60_000;
const HOSTILE = 'long-host' as AgentId;
const GOOD = 'plain-host' as AgentId;

describe('machines read model: hostile host names (real nats-server and PostgreSQL)', () => {
  let backbone: Backbone | undefined;
  let worker: ProjectionWorker | undefined;

  before(async () => {
    backbone = await startBackbone();
    const def = projections.find((p) => p.name === 'machines');
    assert.ok(def);
    worker = await startProjection(def, { nc: backbone.nc, db: backbone.db });
  });
  after(async () => {
    await worker?.stop();
    await backbone?.stop();
  });

  it('a 100,000-character host name (random: incompressible) is cut, not quarantined; the machine stays current', async () => {
    const { js, db } = backbone!;
    // base64 of random bytes: Postgres cannot compress it below the B-tree's limit.
    const huge = `${randomBytes(75_000).toString('base64')}\ud83d\ude00`;
    const odd = ['x\ud800y', 'a\u0000b', `${'é'.repeat(254)}\ud83d\ude00`];
    let last = 0;
    for (const [i, hostname] of [huge, huge, ...odd].entries()) {
      last = (await js.publish(subjects.agentEvent(HOSTILE, 'status'), encode(message({ agentStatus: { hostname, heartbeatIntervalMs: 5000, version: `v${i}` } }, { agentId: HOSTILE })))).seq;
      last = (await js.publish(subjects.agentEvent(GOOD, 'status'), encode(message({ agentStatus: { hostname: `good-${i}` } }, { agentId: GOOD })))).seq;
      assert.ok(await worker!.caughtUp(last, LIVE_MS), `caught up with ${last} (${JSON.stringify(worker!.stats())})`);
      const row = await db.selectFrom('machines').select(['hostname', 'agent_version']).where('agent_id', '=', HOSTILE).executeTakeFirst();
      assert.ok(row, `status ${i}: the hostile agent's machine is in the read model`);
      assert.equal(row.agent_version, `v${i}`, `status ${i}: and current`);
      assert.ok(row.hostname.length <= 255, `status ${i}: host name of ${row.hostname.length} characters`);
      assert.equal(row.hostname, (row.hostname as string & { toWellFormed(): string }).toWellFormed(), `status ${i}: no lone surrogate`);
      assert.ok(!row.hostname.includes('\u0000'));
      const good = await db.selectFrom('machines').select('hostname').where('agent_id', '=', GOOD).executeTakeFirstOrThrow();
      assert.equal(good.hostname, `good-${i}`);
    }
    const cut = await db.selectFrom('machines').select('hostname').where('agent_id', '=', HOSTILE).executeTakeFirstOrThrow();
    assert.equal(cut.hostname, `${'é'.repeat(254)}`, 'a cut never splits a surrogate pair');
    const q = await db.selectFrom('quarantined_events').select(['stream_seq', 'error_code']).where('projection', '=', 'machines').execute();
    assert.deepEqual(q, [], 'nothing quarantined');
    // The list (and its text filter over the trigram index) still answers for it.
    const found = await db.selectFrom('machines').select('agent_id').where('hostname', 'like', 'ééé%').execute();
    assert.deepEqual(
      found.map((r) => r.agent_id),
      [HOSTILE],
    );
  });
});
