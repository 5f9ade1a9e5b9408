/**
 * Bad input on the viewer WebSocket: non-JSON, binary, unknown messages, oversized frames, bad ids,
 * no credentials each get a clear error (or a standard close code), an input flood is cut to the
 * rate limit and counted, the socket and the gateway stay up, and a normal request still works afterwards.
 * Runs under `node --experimental-websocket` (test/run.sh), which gives Node 20 its WebSocket.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Stack, startStack } from '../../infra/launcher/stack.js';
import { startUserDisplays } from '../../infra/servers/x-displays.js';
import { MAX_INPUT_PER_SEC } from '../../services/gateway/ws/protocol.js';
import { eventually, login } from '../support/api.js';

type Incoming = { t?: string; error_code?: string; message?: string };

/** A WebSocket client that records JSON messages and the close code. */
function open(url: string, token?: string) {
  const WS = (globalThis as { WebSocket?: new (u: string, init?: unknown) => WebSocket }).WebSocket;
  if (!WS) throw new Error('run with node --experimental-websocket (test/run.sh does)');
  const ws = new WS(url, token ? { headers: { authorization: `Bearer ${token}` } } : undefined);
  const messages: Incoming[] = [];
  let closeCode: number | undefined;
  const waiters: (() => void)[] = [];
  const poke = () => {
    for (const w of waiters.splice(0)) w();
  };
  ws.onmessage = (e) => {
    if (typeof e.data === 'string') messages.push(JSON.parse(e.data) as Incoming);
    poke();
  };
  ws.onclose = (e) => {
    closeCode = e.code;
    poke();
  };
  const opened = new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error('websocket error'));
  });
  return {
    ws,
    messages,
    opened,
    get closeCode() {
      return closeCode;
    },
    /** Resolves with the first message after `from` that `pred` accepts. */
    async waitFor(pred: (m: Incoming) => boolean, from = 0, timeoutMs = 15_000): Promise<Incoming> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = messages.slice(from).find(pred);
        if (m) return m;
        if (Date.now() > deadline) throw new Error(`no matching message; got ${JSON.stringify(messages.slice(-5))}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 200);
        });
      }
    },
    async closed(timeoutMs = 15_000): Promise<number> {
      const deadline = Date.now() + timeoutMs;
      while (closeCode === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      if (closeCode === undefined) throw new Error('socket did not close');
      return closeCode;
    },
  };
}

describe('bad input on the viewer WebSocket', { timeout: 120_000 }, () => {
  let stack: Stack;
  let dir: string;
  let token: string;
  let base: string;
  let displays: Awaited<ReturnType<typeof startUserDisplays>>;
  const agentId = 'ws-bad-input';

  before(async () => {
    displays = await startUserDisplays(['gc-alice']);
    dir = mkdtempSync(join(tmpdir(), 'gc-wsbad-'));
    stack = await startStack({ dataDir: dir, port: 0, agentId, fastPostgres: true });
    token = (await login(stack.url, stack.admin.name, stack.admin.password)).token;
    base = stack.url.replace(/^http/, 'ws');
  });
  after(async () => {
    await stack?.stop();
    await displays?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers malformed messages with VALIDATION_FAILED and keeps the socket open', async () => {
    const c = open(`${base}/ws/viewer/${agentId}`, token);
    await c.opened;
    await c.waitFor((m) => m.t === 'hello');
    const cases: (string | Uint8Array)[] = [
      'not json',
      JSON.stringify({ t: 'no-such-message' }),
      JSON.stringify({ t: 'switch', session_id: -1 }),
      JSON.stringify({ t: 'input', session_id: 1, mouse: { x: 'a' } }),
      JSON.stringify({ t: 'backstage.exec', id: '', command: '' }),
      new Uint8Array([1, 2, 3]),
      JSON.stringify({ t: 'watch', pad: 'x'.repeat(20_000) }),
    ];
    for (const data of cases) {
      const from = c.messages.length;
      c.ws.send(data);
      const e = await c.waitFor((m) => m.t === 'error', from);
      assert.equal(e.error_code, 'VALIDATION_FAILED', `for ${String(data).slice(0, 40)}`);
      assert.ok((e.message ?? '').length > 0);
    }
    // Still serving: a valid request is answered.
    const from = c.messages.length;
    c.ws.send(JSON.stringify({ t: 'sessions' }));
    await c.waitFor((m) => m.t === 'sessions', from);
    c.ws.close();
  });

  it('drops an input flood beyond the rate limit without falling over, and counts what it dropped', async () => {
    // Input counts only for the session a controlling viewer watches: watch the X display first.
    const session = displays.displays[0]!.display + 1;
    const c = open(`${base}/ws/viewer/${agentId}`, token);
    await c.opened;
    await c.waitFor((m) => m.t === 'hello');
    const watched = await eventually(
      async () => {
        const from = c.messages.length;
        c.ws.send(JSON.stringify({ t: 'watch', session_id: session }));
        const m = await c.waitFor((x) => x.t === 'watching' || x.t === 'error', from);
        return m.t === 'watching' ? m : undefined;
      },
      `watching session ${session}`,
      30_000,
    );
    assert.equal((watched as { control?: boolean }).control, true, 'an admin controls the session');
    const flood = 5000;
    for (let i = 0; i < flood; i++) c.ws.send(JSON.stringify({ t: 'input', session_id: session, mouse: { x: i % 500, y: 1, buttons: 0 } }));
    const from = c.messages.length;
    c.ws.send(JSON.stringify({ t: 'sessions' }));
    await c.waitFor((m) => m.t === 'sessions', from, 30_000);
    assert.equal(c.closeCode, undefined, 'the socket stays open');
    assert.deepEqual(
      c.messages.filter((m) => m.t === 'error'),
      [],
      'input is dropped silently, not answered with errors',
    );
    c.ws.close();
    // The viewer's audit row when it leaves says how many input events the gateway dropped: some (the
    // flood outran the limit), but never the first second's allowance, which reached the agent.
    const admin = await login(stack.url, stack.admin.name, stack.admin.password);
    const left = await eventually(async () => {
      const a = await admin.get<{ events: { event_type: string; details: { input_dropped?: number } }[] }>(`/api/audit?agent=${agentId}&type=viewer_left&limit=50`);
      return a.body.events.find((e) => e.event_type === 'viewer_left' && e.details.input_dropped !== undefined);
    }, 'the viewer_left audit row');
    const dropped = left.details.input_dropped!;
    console.log(`input flood: the gateway dropped ${dropped} of ${flood} events`);
    assert.ok(dropped > 0 && dropped <= flood - MAX_INPUT_PER_SEC, `dropped ${dropped} of ${flood} input events (limit ${MAX_INPUT_PER_SEC}/s)`);
  });

  it('closes with 1009 on a frame over the 64 KB limit, and the gateway stays up', async () => {
    const c = open(`${base}/ws/viewer/${agentId}`, token);
    await c.opened;
    c.ws.send('x'.repeat(70 * 1024));
    assert.equal(await c.closed(), 1009);
    const health = await fetch(`${stack.url}/api/health`);
    assert.equal(health.status, 200);
  });

  it('refuses a wildcard agent id and a missing login with their codes', async () => {
    const bad = open(`${base}/ws/viewer/a*b`, token);
    await bad.opened;
    const e = await bad.waitFor((m) => m.t === 'error');
    assert.equal(e.error_code, 'INVALID_ID');
    assert.equal(await bad.closed(), 4400);
    const anon = open(`${base}/ws/viewer/${agentId}`);
    await anon.opened;
    assert.equal((await anon.waitFor((m) => m.t === 'error')).error_code, 'UNAUTHENTICATED');
    assert.equal(await anon.closed(), 4401);
  });
});
