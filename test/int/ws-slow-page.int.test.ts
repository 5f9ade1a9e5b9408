/**
 * A machine that sends faster than the page reads: a terminal's output (or a backstage command's)
 * comes at whatever rate the agent publishes, and NATS cannot slow it down, so what the page leaves
 * unread waits in the gateway. Past MAX_UNSENT_BYTES the viewer socket is ended (and its terminal
 * closed on the machine), instead of the gateway holding it all until it runs out of memory. The
 * agent is played by the test over real NATS; real gateway and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decode, encode, message } from '../../proto/codec.js';
import type { AgentId } from '../../proto/ids.js';
import { subjects } from '../../proto/subjects.js';
import { MAX_UNSENT_BYTES } from '../../services/gateway/ws/viewer-socket.js';
import { type TestGateway, startTestGateway } from '../support/gateway.js';

const A = 'fast-talker' as AgentId;

interface RawWs {
  once(ev: 'open' | 'close', fn: (code?: number) => void): void;
  on(ev: 'message', fn: (raw: Buffer) => void): void;
  send(d: string): void;
  terminate(): void;
  readonly _socket: { pause(): void; resume(): void };
}
const wsModule = 'ws';
const { default: WebSocket } = (await import(wsModule)) as { default: new (url: string, o: { headers: Record<string, string> }) => RawWs };

describe('a page that reads slower than the machine sends', { timeout: 120_000 }, () => {
  let t: TestGateway;
  let beats: NodeJS.Timeout | undefined;
  before(async () => {
    t = await startTestGateway();
  });
  after(async () => {
    clearInterval(beats);
    await t?.stop();
  });

  it('has its socket ended once it leaves more than MAX_UNSENT_BYTES unread; the terminal is closed on the machine and the gateway serves on', async () => {
    const { nc } = t.backbone;
    const beat = () => nc.publish(subjects.agentEvent(A, 'status'), encode(message({ agentStatus: { hostname: 'fast', elevated: true, heartbeatIntervalMs: 1000 } }, { agentId: A })));
    beat();
    beats = setInterval(beat, 500);
    let terminalId = '';
    let closedOnMachine = false;
    nc.subscribe(subjects.commandsFor(A), {
      callback: (_e, m) => {
        const d = decode(m.data);
        if (!d.ok) return;
        if (d.value.terminalOpen) {
          terminalId = d.value.meta.correlationId ?? '';
          nc.publish(subjects.agentEvent(A, 'terminal'), encode(message({ terminalOutput: { opened: true, runAsUser: 'root' } }, { agentId: A, correlationId: terminalId })));
        }
        if (d.value.terminalClose && d.value.meta.correlationId === terminalId) closedOnMachine = true;
      },
    });
    await nc.flush();

    const admin = await t.userToken('ada', 'admin');
    const ws = new WebSocket(`${t.url.replace(/^http/, 'ws')}/ws/viewer/${A}`, { headers: { authorization: `Bearer ${admin}` } });
    const closed = new Promise<number | undefined>((resolve) => ws.once('close', resolve));
    await new Promise<void>((resolve) => ws.once('open', () => resolve()));
    let opened = false;
    ws.on('message', (raw) => {
      if (raw.toString().includes('"terminal.opened"')) opened = true;
    });
    ws.send('{"t":"backstage.enter"}');
    ws.send('{"t":"terminal.open","cols":80,"rows":24}');
    for (let i = 0; i < 1000 && !opened; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(opened, 'the terminal opened');

    // The page stops reading; the machine sends three times the bound.
    ws._socket.pause();
    const chunk = new Uint8Array(900_000).fill(0x41);
    for (let sent = 0; sent < 3 * MAX_UNSENT_BYTES; sent += chunk.byteLength) {
      nc.publish(subjects.agentEvent(A, 'terminal'), encode(message({ terminalOutput: { data: chunk } }, { agentId: A, correlationId: terminalId })));
      await nc.flush();
    }
    ws._socket.resume();
    // The gateway ended it (a liveness wait: without the bound it stays open and this never resolves).
    assert.equal(await closed, 1006);
    for (let i = 0; i < 1000 && !closedOnMachine; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(closedOnMachine, 'the terminal was closed on the machine');
    const health = await fetch(`${t.url}/api/health`);
    assert.equal(health.status, 200);
  });
});
