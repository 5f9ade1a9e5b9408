/**
 * A backstage exec replayed on one viewer socket (the same id while the first still runs): it is
 * refused with CONFLICT, so the first command stays the one a cancel reaches, and leaving cancels it.
 * Before, the replay took the first one's place: a cancel reached only the second, and the first ran
 * on after the technician left. The agent is played by the test over real NATS; real gateway, Postgres.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decode, encode, message } from '../../proto/codec.js';
import type { AgentId } from '../../proto/ids.js';
import { subjects } from '../../proto/subjects.js';
import { type TestGateway, startTestGateway } from '../support/gateway.js';
import { openViewerSocket } from '../support/viewer-ws.js';

const A = 'slow-runner' as AgentId;

describe('a replayed backstage exec on one viewer socket', { timeout: 120_000 }, () => {
  let t: TestGateway;
  let beats: NodeJS.Timeout | undefined;
  before(async () => {
    t = await startTestGateway();
  });
  after(async () => {
    clearInterval(beats);
    await t?.stop();
  });

  it('is refused with CONFLICT while the first runs, and leaving cancels the first', async () => {
    const { nc } = t.backbone;
    const beat = () => nc.publish(subjects.agentEvent(A, 'status'), encode(message({ agentStatus: { hostname: 'slow', elevated: true, heartbeatIntervalMs: 1000 } }, { agentId: A })));
    beat();
    beats = setInterval(beat, 500);
    // The machine runs nothing to its end: it records which commands it got and which were cancelled.
    const started: string[] = [];
    const cancelled: string[] = [];
    nc.subscribe(subjects.commandsFor(A), {
      callback: (_e, m) => {
        const d = decode(m.data);
        const b = d.ok ? d.value.backstageCommand : undefined;
        if (!d.ok || !b) return;
        if (b.target) cancelled.push(b.target);
        else started.push(d.value.meta.id);
      },
    });
    await nc.flush();

    const admin = await t.userToken('ada', 'admin');
    const got: { t: string; [k: string]: unknown }[] = [];
    const v = await openViewerSocket(t.url, A, admin, (m) => got.push(m));
    v.send('{"t":"backstage.enter"}');
    v.send('{"t":"backstage.exec","id":"x","command":"sleep 600"}');
    for (let i = 0; i < 1000 && started.length < 1; i++) await new Promise((r) => setTimeout(r, 10));
    v.send('{"t":"backstage.exec","id":"x","command":"sleep 600"}');
    for (let i = 0; i < 1000 && !got.some((m) => m.t === 'error'); i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(
      got.filter((m) => m.t === 'error').map((m) => [m.error_code, m.req]),
      [['CONFLICT', 'x']],
    );
    assert.equal(started.length, 1, 'the replay reached no machine');

    v.close();
    assert.equal(await v.closed, 1005);
    for (let i = 0; i < 1000 && cancelled.length < 1; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(cancelled, started, 'leaving cancelled the command that runs');
  });
});
