/**
 * The viewer WebSocket's control messages from a hostile page, the frame `ack` above all (frame-flow.ts),
 * over a real socket to a gateway on real NATS and PostgreSQL: every malformed message is answered
 * with the error envelope naming the viewer, the socket stays open, and a well-formed ack (any count
 * the schema allows, replayed as often as the page likes) is taken silently.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type TestGateway, startTestGateway } from '../support/gateway.js';
import { type ViewerSocket, openViewerSocket } from '../support/viewer-ws.js';

const AGENT = 'ws-hostile-pc';

describe('viewer WebSocket: hostile control messages (real gateway, NATS, PostgreSQL)', { timeout: 120_000 }, () => {
  let t: TestGateway;
  let ws: ViewerSocket | undefined;
  const received: { t: string; [k: string]: unknown }[] = [];

  before(async () => {
    t = await startTestGateway();
    const admin = await t.userToken('ada', 'admin');
    ws = await openViewerSocket(t.url, AGENT, admin, (m) => received.push(m));
  });
  after(async () => {
    ws?.close();
    await t?.stop();
  });

  /** Errors received so far. */
  const errors = () => received.filter((m) => m.t === 'error');
  /** Waits (liveness bound, not a timing assertion) until `n` errors have come. */
  const errorsReach = async (n: number) => {
    for (let i = 0; i < 1000 && errors().length < n; i++) await new Promise((r) => setTimeout(r, 10));
    return errors().length;
  };

  it('answers every malformed ack with VALIDATION_FAILED and keeps the socket; well-formed acks, replayed, are taken silently', async () => {
    const hostile = [
      '{"t":"ack","frames":-1}',
      '{"t":"ack","frames":1001}',
      `{"t":"ack","frames":${2 ** 31 - 1}}`,
      `{"t":"ack","frames":${2 ** 32 - 1}}`,
      '{"t":"ack","frames":9223372036854775807}',
      '{"t":"ack","frames":1e400}',
      '{"t":"ack","frames":1.5}',
      '{"t":"ack","frames":"5"}',
      '{"t":"ack","frames":null}',
      '{"t":"ack"}',
      '{"t":"ack","frames":[1]}',
      '{"t":"ack\\u0000","frames":1}',
      '{"t":"ack\\ud800","frames":1}',
      `{"t":"ack","frames":1,"pad":"${'x'.repeat(20_000)}"}`,
      '{"t":"ack","frames":1',
      '',
      '\u0000',
    ];
    const base = errors().length;
    for (const h of hostile) ws!.send(h);
    assert.equal(await errorsReach(base + hostile.length), base + hostile.length, 'one error per malformed message');
    for (const e of errors().slice(base)) {
      assert.equal(e.error_code, 'VALIDATION_FAILED', JSON.stringify(e).slice(0, 200));
      assert.ok(typeof e.message === 'string' && (e.message as string).length < 2000, 'the error does not echo a large input');
      assert.ok(typeof e.correlation_id === 'string' && e.correlation_id.length > 0);
    }
    // Well-formed acks (the schema's whole range), replayed thousands of times with no frame sent: no answer.
    const quiet = errors().length;
    for (let i = 0; i < 5000; i++) ws!.send(JSON.stringify({ t: 'ack', frames: i % 1001 }));
    // Then one more malformed message: its error arriving proves the socket open and every ack handled before it.
    ws!.send('{"t":"ack","frames":-1}');
    assert.equal(await errorsReach(quiet + 1), quiet + 1);
    assert.equal(errors().length, quiet + 1, 'no ack was answered');
  });

  it('refuses a lone surrogate in any message, and NUL outside terminal keystrokes, as the HTTP edge does', async () => {
    const bad = [
      { t: 'backstage.exec', id: 'c-1', command: 'echo \ud800' },
      { t: 'backstage.exec', id: 'c-2', command: `echo ${'x'.repeat(50)}\udc00` },
      { t: 'backstage.exec', id: 'c-3', command: 'echo a\u0000; touch /tmp/x' },
      { t: 'backstage.service_control', name: 'svc\ud800', action: 'stop' },
      { t: 'input', session_id: 1, key: { text: '\ud83d' } },
      { t: 'input', session_id: 1, key: { text: '\u0000' } },
      { t: 'terminal.input', data: 'ls\ud800' },
      { t: 'switch', session_id: 1, req: 'r\udfff' },
    ];
    const base = errors().length;
    for (const m of bad) ws!.send(JSON.stringify(m));
    assert.equal(await errorsReach(base + bad.length), base + bad.length);
    for (const [i, e] of errors().slice(base).entries()) {
      assert.equal(e.error_code, 'VALIDATION_FAILED', JSON.stringify(bad[i]));
      assert.match(String(e.message), /NUL character or a lone UTF-16 surrogate/, JSON.stringify(bad[i]));
    }
    // A terminal's Ctrl+@ is NUL: not refused as text (this socket has no terminal open, which is its answer).
    ws!.send(JSON.stringify({ t: 'terminal.input', data: '\u0000' }));
    assert.equal(await errorsReach(base + bad.length + 1), base + bad.length + 1);
    assert.doesNotMatch(String(errors().at(-1)?.message), /NUL character/);
  });

  it('a message over the socket limit (64 KiB) closes that socket with 1009; the gateway and other viewers are unharmed', async () => {
    const admin = await t.userToken('bea', 'admin');
    const mine: { t: string; [k: string]: unknown }[] = [];
    const s = await openViewerSocket(t.url, AGENT, admin, (m) => mine.push(m));
    s.send('{"t":"ack","frames":-1}');
    // Its answer first (a liveness bound): the socket is open and answering when the oversized one comes.
    for (let i = 0; i < 1000 && !mine.some((m) => m.t === 'error'); i++) await new Promise((r) => setTimeout(r, 10));
    s.send(`{"t":"ack","frames":1,"pad":"${'x'.repeat(100_000)}"}`);
    assert.equal(await s.closed, 1009);
    assert.deepEqual(
      mine.filter((m) => m.t === 'error').map((m) => m.error_code),
      ['VALIDATION_FAILED'],
    );
    // The gateway is unharmed: another viewer's socket still answers.
    const base = errors().length;
    ws!.send('{"t":"ack","frames":-1}');
    assert.equal(await errorsReach(base + 1), base + 1);
  });

  it("a flood of control messages is cut at the per-socket budget: one RATE_LIMITED, the rest dropped, the gateway's reads unharmed", async () => {
    // Before: each `watch` read the database twice, so 20,000 of them queued every other request of
    // the gateway behind them (the machines list answered after about 10 s).
    const admin = await t.userToken('flo', 'admin');
    const mine: { t: string; [k: string]: unknown }[] = [];
    const s = await openViewerSocket(t.url, AGENT, admin, (m) => mine.push(m));
    for (let i = 0; i < 1000 && !mine.some((m) => m.t === 'hello'); i++) await new Promise((r) => setTimeout(r, 10));
    for (let i = 0; i < 2000; i++) s.send('{"t":"watch"}');
    // A session-list request is never dropped: its answer says everything before it was read.
    s.send('{"t":"sessions"}');
    for (let i = 0; i < 3000 && mine.filter((m) => m.t === 'sessions').length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    const codes = mine.filter((m) => m.t === 'error').map((m) => String(m.error_code));
    assert.ok(codes.includes('RATE_LIMITED'), `told it was cut: ${[...new Set(codes)]}`);
    const answered = codes.filter((c) => c === 'AGENT_OFFLINE').length;
    assert.ok(answered < 2000, `${answered} of 2000 watch messages were acted on`);
    const machines = await fetch(`${t.url}/api/machines`, { headers: { authorization: `Bearer ${admin}` } });
    assert.equal(machines.status, 200);
    s.close();
  });

  it('a flood of session-list requests shares reads: a few answers, not one (two queries) per request', async () => {
    const admin = await t.userToken('sal', 'admin');
    const mine: { t: string; [k: string]: unknown }[] = [];
    const s = await openViewerSocket(t.url, AGENT, admin, (m) => mine.push(m));
    for (let i = 0; i < 1000 && !mine.some((m) => m.t === 'sessions'); i++) await new Promise((r) => setTimeout(r, 10));
    for (let i = 0; i < 2000; i++) s.send('{"t":"sessions"}');
    // Messages are acted on in order: once this is answered, all 2,000 requests were made.
    s.send('{"t":"backstage.exit"}');
    for (let i = 0; i < 3000 && !mine.some((m) => m.t === 'backstage.exited'); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(mine.some((m) => m.t === 'backstage.exited'));
    // The pool answers in order: this list comes after whatever reads those requests queued.
    const machines = await fetch(`${t.url}/api/machines`, { headers: { authorization: `Bearer ${admin}` } });
    assert.equal(machines.status, 200);
    const answers = mine.filter((m) => m.t === 'sessions').length;
    assert.ok(answers >= 2 && answers <= 10, `${answers} session lists for 2,001 requests`);
    s.close();
  });
});
