/**
 * The interactive backstage terminal over the whole stack (nats-server, PostgreSQL, projections,
 * gateway, local agent as processes), driven over the viewer WebSocket like the dashboard does: state
 * persists between inputs, a password prompt works with echo off, resize reaches `stty size`, close
 * kills the shell's whole tree, and a non-admin is refused and audited.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Stack, startStack } from '../../infra/launcher/stack.js';
import { type Api, eventually, login } from '../support/api.js';
import { grantMachine } from '../support/browser.js';
import { openViewerSocket } from '../support/viewer-ws.js';

type Msg = { t: string; [k: string]: unknown };
/** Terminal output as text: escape sequences (bracketed paste, colours) and carriage returns dropped. */
const CSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, 'g');
const plain = (s: string) => s.replace(CSI, '').replace(/\r/g, '');

/** A viewer socket that keeps every JSON message and the terminal output seen so far. */
async function viewer(url: string, agentId: string, token: string) {
  const messages: Msg[] = [];
  let output = '';
  const waiters = new Set<() => void>();
  const ws = await openViewerSocket(url, agentId, token, (m) => {
    messages.push(m);
    if (m.t === 'terminal.output') output += String(m.data);
    for (const w of waiters) w();
  });
  const waitFor = <T>(probe: () => T | undefined, what: string, timeoutMs = 15_000) =>
    new Promise<T>((resolve, reject) => {
      const check = () => {
        const v = probe();
        if (v === undefined) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(v);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(
          new Error(`timed out waiting for ${what}; output so far:\n${output}\nmessages: ${JSON.stringify(messages.filter((m) => m.t !== 'terminal.output' && m.t !== 'sessions')).slice(0, 2000)}`),
        );
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  return {
    messages,
    get output() {
      return output;
    },
    send: (m: Msg) => ws.send(JSON.stringify(m)),
    message: (t: string, pred: (m: Msg) => boolean = () => true) => waitFor(() => messages.find((m) => m.t === t && pred(m)), t),
    /** Waits until `re` matches the plain text of output written after `from` (an offset into the raw output). */
    outputMatch: (re: RegExp, from = 0) => waitFor(() => re.exec(plain(output.slice(from))) ?? undefined, String(re)),
    close: () => ws.close(),
  };
}
type Viewer = Awaited<ReturnType<typeof viewer>>;

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/\) [ZX] /.test(readStatSafe(pid));
function readStatSafe(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return '';
  }
}

describe('backstage interactive terminal over the whole stack', { timeout: 120_000 }, () => {
  let stack: Stack;
  let dir: string;
  let admin: Api;
  let v: Viewer;
  const agentId = 'terminal-test-agent';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gc-term-'));
    stack = await startStack({ dataDir: dir, port: 0, agentId, heartbeatMs: 1000, fastPostgres: true });
    admin = await login(stack.url, stack.admin.name, stack.admin.password);
    await eventually(async () => {
      const r = await admin.get<{ online: boolean }>(`/api/machines/${agentId}`);
      return r.status === 200 && r.body.online ? true : undefined;
    }, 'the agent online');
    v = await viewer(stack.url, agentId, admin.token);
    await v.message('hello');
  });
  after(async () => {
    v?.close();
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a terminal outside backstage mode', async () => {
    v.send({ t: 'terminal.open', cols: 100, rows: 30 });
    const e = await v.message('error', (m) => m.req === 'terminal');
    assert.equal(e.error_code, 'CONFLICT');
  });

  it('keeps the working directory and environment between inputs', async () => {
    v.send({ t: 'backstage.enter' });
    await v.message('backstage.entered');
    v.send({ t: 'terminal.open', cols: 100, rows: 30 });
    const opened = await v.message('terminal.opened');
    assert.equal(opened.run_as_user, 'root');
    v.send({ t: 'terminal.input', data: 'cd /tmp && export GCX=42\r' });
    const from = v.output.length;
    v.send({ t: 'terminal.input', data: 'pwd; echo "x=$GCX"; stty size\r' });
    const m = await v.outputMatch(/\n\/tmp\nx=42\n(\d+ \d+)\n/, from);
    assert.equal(m[1], '30 100', 'the initial size reached the pty');
  });

  it('runs an interactive password prompt with echo off', async () => {
    const from = v.output.length;
    v.send({ t: 'terminal.input', data: `python3 -c "import getpass; print('got', len(getpass.getpass('pw: ')))"\r` });
    await v.outputMatch(/pw: $/, from);
    const afterPrompt = v.output.length;
    v.send({ t: 'terminal.input', data: 'hunter22\r' });
    await v.outputMatch(/got 8/, afterPrompt);
    assert.equal(v.output.slice(afterPrompt).includes('hunter22'), false, 'the tty does not echo the password');
  });

  it('resizes the pty (stty size follows)', async () => {
    v.send({ t: 'terminal.resize', cols: 132, rows: 43 });
    // The resize is applied asynchronously by the agent: ask until the shell sees it.
    const size = await eventually(
      async () => {
        const from = v.output.length;
        v.send({ t: 'terminal.input', data: 'stty size\r' });
        const m = await v.outputMatch(/\n(\d+ \d+)\n/, from);
        return m[1] === '43 132' ? m[1] : undefined;
      },
      'stty size 43 132',
      15_000,
      300,
    );
    assert.equal(size, '43 132');
  });

  it('closes: the shell and its background children are gone, and the visit is audited', async () => {
    const from = v.output.length;
    v.send({ t: 'terminal.input', data: 'sleep 1000 & echo "pids=$$,$!"\r' });
    const m = await v.outputMatch(/pids=(\d+),(\d+)/, from);
    const [shellPid, sleepPid] = [Number(m[1]), Number(m[2])];
    assert.ok(alive(shellPid) && alive(sleepPid), 'shell and background sleep run before the close');
    v.send({ t: 'terminal.close' });
    const closed = await v.message('terminal.closed');
    assert.equal(typeof closed.exit_code, 'number');
    await eventually(async () => (!alive(shellPid) && !alive(sleepPid) ? true : undefined), 'shell and sleep gone', 10_000);

    const audit = await eventually(async () => {
      const a = await admin.get<{ events: { event_type: string; user_name: string; details: Record<string, unknown> }[] }>('/api/audit?limit=200');
      const opened = a.body.events.find((e) => e.event_type === 'backstage_terminal_opened');
      const closedRow = a.body.events.find((e) => e.event_type === 'backstage_terminal_closed');
      return opened && closedRow ? { opened, closedRow, all: JSON.stringify(a.body.events) } : undefined;
    }, 'terminal audit rows');
    assert.equal(audit.opened.user_name, 'admin');
    assert.equal(audit.opened.details.run_as_user, 'root');
    assert.equal(audit.closedRow.details.run_as_user, 'root');
    assert.equal(typeof audit.closedRow.details.duration_ms, 'number');
    assert.equal(audit.all.includes('hunter22'), false, 'keystrokes are never audited');
    assert.equal(audit.all.includes('GCX'), false, 'input is never audited');

    // A new terminal can be opened after the close; a second one on the same socket cannot.
    v.send({ t: 'terminal.open', cols: 80, rows: 24 });
    await v.message('terminal.opened', (x) => v.messages.indexOf(x) > v.messages.indexOf(closed));
    v.send({ t: 'terminal.open', cols: 80, rows: 24 });
    const dup = await v.message('error', (x) => x.req === 'terminal' && x.error_code === 'CONFLICT' && v.messages.indexOf(x) > v.messages.indexOf(closed));
    assert.match(String(dup.message), /already/);
  });

  it('kills the shell when backstage is exited', async () => {
    const from = v.output.length;
    v.send({ t: 'terminal.input', data: 'echo "pid=$$"\r' });
    const pid = Number((await v.outputMatch(/pid=(\d+)/, from))[1]);
    assert.ok(alive(pid));
    v.send({ t: 'backstage.exit' });
    await v.message('backstage.exited');
    await eventually(async () => (!alive(pid) ? true : undefined), 'shell gone after backstage exit', 10_000);
  });

  it('refuses a non-admin and audits the attempt', async () => {
    const op = await stack.createUser('otto', 'operator');
    await grantMachine(stack.url, stack.admin, op, agentId);
    const opApi = await login(stack.url, op.name, op.password);
    const ov = await viewer(stack.url, agentId, opApi.token);
    try {
      await ov.message('hello');
      ov.send({ t: 'terminal.open', cols: 80, rows: 24 });
      const e = await ov.message('error', (m) => m.req === 'terminal');
      assert.equal(e.error_code, 'FORBIDDEN');
      assert.equal(
        ov.messages.some((m) => m.t === 'terminal.opened'),
        false,
      );
      await eventually(async () => {
        const a = await admin.get<{ events: { event_type: string; user_name: string; details: Record<string, unknown> }[] }>('/api/audit?limit=200');
        return a.body.events.find((x) => x.event_type === 'access_denied' && x.user_name === 'otto' && x.details.action === 'terminal.open');
      }, 'access_denied row for otto');
    } finally {
      ov.close();
    }
  });
});
