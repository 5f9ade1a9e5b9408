/**
 * A refused technician cannot grow the audit log at will: 200 denied switches over the viewer
 * WebSocket become at most two access_denied rows whose counts add up to 200, visible in the audit
 * API; denials still held when the gateway stops are published on the way down. Whole stack.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Stack, startStack } from '../../infra/launcher/stack.js';
import { type Api, eventually, login } from '../support/api.js';
import { grantMachine } from '../support/browser.js';
import { openViewerSocket } from '../support/viewer-ws.js';

type Msg = { t: string; [k: string]: unknown };
type AuditRow = { event_type: string; user_name: string | null; agent_id: string | null; details: Record<string, unknown> };

describe('denials are folded into counts (whole stack)', { timeout: 180_000 }, () => {
  let stack: Stack;
  let dir: string;
  let admin: Api;
  const agentId = 'denial-fold-agent';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gc-denials-'));
    // Every denial must reach the folder: the per-socket control budget (ws/control-budget.ts, which
    // would drop 150 of these 200 within their second) is lifted here and tested in viewer-ws-hostile.
    stack = await startStack({ dataDir: dir, port: 0, agentId, heartbeatMs: 1000, fastPostgres: true, env: { GC_VIEWER_CONTROL_PER_SEC: '1000' } });
    admin = await login(stack.url, stack.admin.name, stack.admin.password);
  });
  after(async () => {
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A viewer-role user with access to the machine, and a socket that counts FORBIDDEN answers. */
  const refusedViewer = async (name: string) => {
    const user = await stack.createUser(name, 'viewer');
    await grantMachine(stack.url, stack.admin, user, agentId);
    const api = await login(stack.url, user.name, user.password);
    const messages: Msg[] = [];
    const ws = await openViewerSocket(stack.url, agentId, api.token, (m) => messages.push(m));
    await eventually(async () => (messages.some((m) => m.t === 'hello') ? true : undefined), 'hello');
    const forbidden = () => messages.filter((m) => m.t === 'error' && m.error_code === 'FORBIDDEN').length;
    return { ws, forbidden };
  };
  const denialsOf = async (user: string, action: string) => {
    const r = await admin.get<{ events: AuditRow[] }>(`/api/audit?type=access_denied&user=${user}&limit=1000`);
    assert.equal(r.status, 200);
    return r.body.events.filter((e) => e.details.action === action);
  };
  const sum = (rows: AuditRow[]) => rows.reduce((n, e) => n + Number(e.details.count), 0);

  it('200 denied switches give at most two access_denied rows whose counts add up to 200', async () => {
    const v = await refusedViewer('vic');
    for (let i = 0; i < 200; i++) v.ws.send(JSON.stringify({ t: 'switch', session_id: 1, req: `r${i}` }));
    await eventually(async () => (v.forbidden() === 200 ? true : undefined), '200 FORBIDDEN answers');
    // The rest of the window arrives when it closes (10 s by default).
    const rows = await eventually(
      async () => {
        const r = await denialsOf('vic', 'switch-session');
        return sum(r) >= 200 ? r : undefined;
      },
      'the folded denials in the audit log',
      60_000,
    );
    v.ws.close();
    assert.ok(rows.length <= 2, `${rows.length} rows: ${JSON.stringify(rows.map((r) => r.details.count))}`);
    assert.equal(sum(rows), 200);
    assert.ok(rows.every((r) => r.agent_id === agentId && r.user_name === 'vic'));
    assert.ok(
      rows.some((r) => r.details.count === 1),
      'the first denial was recorded at once',
    );
    // The audit page's one-line summary shows the first four detail entries: the count is among them.
    for (const r of rows) assert.ok(Object.keys(r.details).slice(0, 4).includes('count'), JSON.stringify(r.details));
  });

  it('the launcher writes one event id key, owner-only, and the gateway uses it', () => {
    const keyFile = join(dir, 'nats-auth', 'event-id.key');
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    assert.ok(readFileSync(keyFile, 'utf8').trim().length >= 43);
    const gatewayLog = readFileSync(join(dir, 'logs', 'gateway.log'), 'utf8');
    assert.ok(gatewayLog.includes('gateway listening'), "the log is the gateway's");
    assert.equal(gatewayLog.includes('GC_EVENT_ID_KEY_FILE is not set'), false);
  });

  it('denials still held when the gateway stops are published on the way down', async () => {
    const v = await refusedViewer('val');
    for (let i = 0; i < 20; i++) v.ws.send(JSON.stringify({ t: 'backstage.enter' }));
    await eventually(async () => (v.forbidden() === 20 ? true : undefined), '20 FORBIDDEN answers');
    await stack.restart('gateway');
    const rows = await eventually(
      async () => {
        const r = await denialsOf('val', 'backstage.enter');
        return sum(r) >= 20 ? r : undefined;
      },
      'the flushed denials in the audit log',
      30_000,
    );
    assert.equal(sum(rows), 20);
    assert.deepEqual(
      rows.map((r) => r.details.count).sort((a, b) => Number(a) - Number(b)),
      [1, 19],
    );
  });
});
