/**
 * Every control message the viewer WebSocket takes, every field, every hostile value (the list of
 * test/support/hostile-values.ts), over a real socket to a gateway on real NATS and PostgreSQL. The
 * message kinds and fields come from the protocol's own schema (services/gateway/ws/protocol.ts), so
 * a kind added later is swept without anyone remembering to.
 *
 * What must hold: no answer is an internal error, the socket stays open (a 20k-character field is
 * over the message limit but under the socket's, so it is refused, not fatal), and afterwards the
 * gateway still answers, the same socket still gets answers, and an audited action is still audited.
 * No agent runs here, so what needs one online (backstage mode, a terminal) stops at AGENT_OFFLINE:
 * the sweep reaches parsing, validation and the decider, not the agent's handlers (those meet hostile
 * input in backstage-linux.int.test.ts and the agent's own unit tests).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { z } from 'zod';
import { clientMessageSchema } from '../../services/gateway/ws/protocol.js';
import { type TestGateway, startTestGateway } from '../support/gateway.js';
import { assertStillAudits } from '../support/still-audits.js';
import { hostileNumbers, hostileStrings, hostileTimestamps, wrongJsonTypes } from '../support/hostile-values.js';
import { type ViewerSocket, openViewerSocket } from '../support/viewer-ws.js';

const AGENT = 'ws-sweep-pc';

type Field = z.ZodType & { def: { type: string; values?: unknown[]; entries?: Record<string, unknown>; innerType?: Field } };
/** A value the field's schema accepts, so that only the field under attack is hostile. */
function plausible(f: Field): unknown {
  const d = f.def.type === 'optional' && f.def.innerType ? f.def.innerType.def : f.def;
  switch (d.type) {
    case 'literal':
      return d.values?.[0];
    case 'enum':
      return Object.values(d.entries ?? {})[0];
    case 'number':
      return 1;
    case 'boolean':
      return false;
    case 'object':
      return {};
    default:
      return 'sweep-x';
  }
}

/** The fields of an object-valued field (optional or not); [] for any other kind. */
function nestedFields(f: Field): string[] {
  const inner = f.def.type === 'optional' && f.def.innerType ? f.def.innerType : f;
  return inner.def.type === 'object' ? Object.keys((inner as unknown as { shape: Record<string, unknown> }).shape) : [];
}

describe('viewer WebSocket: every message kind against hostile input (real gateway, NATS, PostgreSQL)', { timeout: 300_000 }, () => {
  let t: TestGateway;
  let admin: string;
  let ws: ViewerSocket;
  const received: { t: string; [k: string]: unknown }[] = [];

  before(async () => {
    // Every message must reach its handler: the per-socket budget (ws/control-budget.ts, tested in viewer-ws-hostile) is lifted.
    t = await startTestGateway({ config: { viewerControlPerSec: 100_000 } });
    admin = await t.userToken('ws-sweeper', 'admin');
    ws = await openViewerSocket(t.url, AGENT, admin, (m) => received.push(m));
  });
  after(async () => {
    ws?.close();
    await t?.stop();
  });

  /** Asks for the session list and waits (liveness bound) for that answer: everything sent before it was read. */
  async function settle(): Promise<void> {
    const asked = received.filter((m) => m.t === 'sessions').length + 1;
    ws.send(JSON.stringify({ t: 'sessions' }));
    for (let i = 0; i < 3000; i++) {
      if (received.filter((m) => m.t === 'sessions').length >= asked) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('no answer to a session-list request: the socket stopped answering');
  }

  it('refuses or answers every hostile value in every message kind, and keeps the socket', async () => {
    const values = [...hostileStrings.map((s) => (s.length > 50_000 ? 'x'.repeat(20_000) : s)), ...hostileNumbers, ...hostileTimestamps, ...wrongJsonTypes];
    let sent = 0;
    const kinds = clientMessageSchema.options.map((o) => o.shape as unknown as Record<string, Field>);
    for (const shape of kinds) {
      const base: Record<string, unknown> = {};
      for (const [k, f] of Object.entries(shape)) base[k] = plausible(f);
      for (const k of Object.keys(shape)) {
        if (k === 't') continue;
        for (const v of values) {
          ws.send(JSON.stringify({ ...base, [k]: v }));
          sent++;
        }
        // Nested objects (mouse, key) get the same treatment one level down, their fields from the schema too.
        for (const nested of nestedFields(shape[k]!)) {
          for (const v of values) {
            ws.send(JSON.stringify({ ...base, [k]: { [nested]: v } }));
            sent++;
          }
        }
      }
      await settle();
    }
    for (const text of ['[]', 'null', '"x"', '1', '{}', '{"t":null}', '{"__proto__":{"t":"backstage.enter"}}', '{"t":"backstage.exec","t":"switch"}', '{', '\u0000']) {
      ws.send(text);
      sent++;
    }
    await settle();
    assert.ok(kinds.length >= 19 && sent > 1200, `a sweep, not a sample (${kinds.length} kinds, ${sent} messages)`);
    const internal = received.filter((m) => m.t === 'error' && m.error_code === 'INTERNAL');
    assert.deepEqual(internal.slice(0, 5), [], `${internal.length} internal errors`);
    for (const e of received.filter((m) => m.t === 'error')) assert.ok(String(e.message).length > 0 && String(e.correlation_id).length > 0, JSON.stringify(e).slice(0, 200));
    assert.equal(await Promise.race([ws.closed, new Promise((r) => setTimeout(() => r('open'), 200))]), 'open', 'the socket stays open');
  });

  it('still serves, still answers on the same socket and still audits after the sweep', async () => {
    assert.equal((await fetch(`${t.url}/api/health`)).status, 200);
    await settle();
    await assertStillAudits(t, admin, 'after-ws-sweep');
  });
});
