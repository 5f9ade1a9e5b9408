/**
 * The interactive terminal on Windows (ConPTY) on real Win32 calls: run by test/windows/run.sh inside
 * Wine with the Windows node.exe, like platform.wine.ts.
 *
 * Wine 8 gap, measured: a process attached to a pseudo console with NULL std handles (how every ConPTY
 * host starts its shell, and what Windows fills in with the console's handles) keeps NULL std handles
 * under Wine, so a plain `cmd.exe` can neither read nor write and ends at once. Under Wine the
 * interactive tests therefore start `cmd.exe /c "cmd.exe < CON > CON"`: the outer cmd opens the
 * pseudo console's own CONIN$/CONOUT$ for an inner, interactive cmd. Everything else — pipes,
 * CreatePseudoConsole, the attribute list, CreateProcessW / CreateProcessAsUserW, the Job object,
 * reading, writing, exit and ClosePseudoConsole — is the production path (startConPty). On Windows
 * the same tests run through spawnWindowsPty itself.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { decode, encode, message } from '../../proto/codec.js';
import { guruconnect } from '../../proto/generated/guruconnect.js';
import type { Result } from '../../proto/errors.js';
import { createWindowsPlatform } from '../../agent/platform/windows/index.js';
import { clampSize, coord } from '../../agent/platform/windows/conpty.js';
import { ptyCommandLine, spawnWindowsPty, startConPty } from '../../agent/platform/windows/pty.js';
import { ownSessionId } from '../../agent/platform/windows/sessions.js';
import { shellPaths } from '../../agent/platform/windows/spawn.js';
import type { PtyProcess, PtyRequest } from '../../agent/terminal/pty-types.js';
import { createTerminalManager } from '../../agent/terminal/terminal-manager.js';
import type { TerminalOutput } from '../../agent/terminal/terminal-publisher.js';
import { UNDER_WINE } from './under-wine.js';
import { silentLog } from '../support/log-lines.js';

const CMD = guruconnect.Shell.SHELL_CMD;
const platform = createWindowsPlatform({ agentVersion: 'wine-test' });
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

/** A liveness bound per test: a broken kill or exit fails the test instead of hanging the suite. */
const BOUND = { timeout: 60_000 };
const started: PtyProcess[] = [];
/** Remembers every pty a test started, so the file can end them even when a test failed half-way. */
async function track(r: Promise<Result<PtyProcess>>): Promise<Result<PtyProcess>> {
  const got = await r;
  if (got.ok) started.push(got.value);
  return got;
}
const within = (p: Promise<unknown>, ms: number) => Promise.race([p.then(() => true), sleep(ms).then(() => false)]);
after(async () => {
  for (const p of started) {
    // killTree is under test: if it fails to end the shell, end the shell by pid so the file can exit.
    if (!(await within(p.killTree(), 10_000))) await platform.killProcess(p.pid);
    await within(p.exited, 10_000);
  }
});

/** An interactive cmd on a pseudo console: spawnWindowsPty on Windows, the CON wrapper under Wine (see top). */
function openCmd(req: Partial<PtyRequest> = {}): Promise<Result<PtyProcess>> {
  const full: PtyRequest = { cols: 80, rows: 25, shell: CMD, asSessionId: 0, ...req };
  if (!UNDER_WINE) return track(spawnWindowsPty(full));
  return track(startConPty({ commandLine: `"${shellPaths().cmd}" /d /c "cmd.exe /d < CON > CON 2>&1"`, cols: full.cols, rows: full.rows, asSessionId: full.asSessionId }));
}

const ESC = String.fromCharCode(27);
const BEL = String.fromCharCode(7);
const VT = new RegExp(`${ESC}\\[[0-9;?]*[A-Za-z]|${ESC}\\][^${BEL}]*${BEL}`, 'g');
/** Terminal output as text: VT sequences and carriage returns dropped. */
const plain = (s: string) => s.replace(VT, '').replace(/\r/g, '');

/** A pty's output as it arrives (raw and as text), with a wait for a pattern. */
function watch(pty: PtyProcess) {
  const dec = new TextDecoder('utf-8');
  let raw = '';
  pty.onData((b) => {
    raw += dec.decode(b, { stream: true });
  });
  return {
    get raw() {
      return raw;
    },
    get text() {
      return plain(raw);
    },
    /** Waits for `re` in the text written after offset `from` of the raw output (a liveness bound, not a timing claim). */
    async until(re: RegExp, from = 0): Promise<RegExpExecArray> {
      for (let i = 0; i < 600; i++) {
        const m = re.exec(plain(raw.slice(from)));
        if (m) return m;
        await sleep(50);
      }
      assert.fail(`no ${re} in the terminal output:\n${JSON.stringify(raw.slice(from))}`);
    },
    /** Types a line (cmd on a console wants CR as Enter). */
    type(line: string) {
      pty.write(Buffer.from(`${line}\r`, 'utf8'));
    },
  };
}

async function opened(req: Partial<PtyRequest> = {}) {
  const r = await openCmd(req);
  if (!r.ok) assert.fail(`open failed: ${r.error.code} ${r.error.message}`);
  const t = watch(r.value);
  await t.until(/>$/m); // the first prompt: the shell reads from the pseudo console
  return { pty: r.value, t };
}

async function processes() {
  const l = await platform.listProcesses({ cpuSampleMs: 0 });
  assert.ok(l.ok);
  return l.value;
}

/** Pids of `root` and every process below it. */
async function treeOf(root: number): Promise<{ pid: number; name: string }[]> {
  const all = await processes();
  const out = all.filter((p) => p.pid === root).map((p) => ({ pid: p.pid ?? 0, name: p.name ?? '' }));
  for (let i = 0; i < out.length; i++) {
    for (const p of all) if (p.parentPid === out[i]?.pid && !out.some((o) => o.pid === p.pid)) out.push({ pid: p.pid ?? 0, name: p.name ?? '' });
  }
  return out;
}

describe('interactive terminal on ConPTY', () => {
  test('a command typed in runs in cmd and its expanded output comes back', BOUND, async () => {
    const { pty, t } = await opened();
    assert.ok(pty.pid > 0);
    assert.ok(pty.runAsUser.length > 0, 'runAsUser names the account');
    const host = (await platform.identity()).hostname;
    const from = t.raw.length;
    t.type('echo gc-%COMPUTERNAME%');
    const m = await t.until(/^gc-(\S+)$/m, from);
    assert.equal(m[1]?.toLowerCase(), host.toLowerCase(), 'cmd expanded %COMPUTERNAME%');
    await pty.killTree();
  });

  test('state persists across commands: environment and working directory', BOUND, async () => {
    const { pty, t } = await opened();
    t.type('set GCX=42');
    t.type('cd /d %SystemRoot%');
    let from = t.raw.length;
    t.type('echo gcx=%GCX%');
    await t.until(/^gcx=42$/m, from);
    from = t.raw.length;
    t.type('cd');
    const m = await t.until(/^([A-Za-z]:\\[^>\s]*)$/m, from);
    assert.equal(m[1]?.toLowerCase(), (process.env.SystemRoot ?? 'C:\\windows').toLowerCase());
    await pty.killTree();
  });

  test('non-ASCII text goes in and comes out as UTF-8', BOUND, async () => {
    const { pty, t } = await opened();
    const from = t.raw.length;
    t.type('echo héllo-ü-Ωж');
    await t.until(/^héllo-ü-Ωж$/m, from);
    await pty.killTree();
  });

  test("the shell's exit code comes back and exited resolves", BOUND, async () => {
    const { pty, t } = await opened();
    t.type('exit 7');
    assert.deepEqual(await pty.exited, { exitCode: 7 });
    pty.write(Buffer.from('ignored\r')); // after the end: dropped, no throw
    const again = await pty.resize(100, 30);
    assert.equal(again.ok, false, 'resize after the end is refused');
    await pty.killTree(); // idempotent after the end
  });

  test('resize: ResizePseudoConsole (Wine 8: not implemented, reported as NOT_AVAILABLE)', BOUND, async () => {
    const { pty, t } = await opened();
    const r = await pty.resize(120, 40);
    if (UNDER_WINE) {
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.error.code, 'NOT_AVAILABLE');
        assert.match(r.error.message, /0x80004001/, 'E_NOTIMPL from Wine');
      }
    } else {
      assert.ok(r.ok, r.ok ? '' : r.error.message);
      const from = t.raw.length;
      t.type('mode con');
      await t.until(/Columns:\s+120/, from);
    }
    const from = t.raw.length;
    t.type('echo still-here');
    await t.until(/^still-here$/m, from);
    await pty.killTree();
  });

  test('killTree ends the shell and everything it runs; exited resolves', BOUND, async () => {
    const { pty, t } = await opened();
    t.type('ping -n 60 127.0.0.1');
    let tree = await treeOf(pty.pid);
    for (let i = 0; i < 100 && !tree.some((p) => /^ping(\.exe)?$/i.test(p.name)); i++) {
      await sleep(100);
      tree = await treeOf(pty.pid);
    }
    const ping = tree.find((p) => /^ping(\.exe)?$/i.test(p.name));
    assert.ok(ping, `ping runs below the shell: ${JSON.stringify(tree)}`);
    const shell = await pty.shellPid();
    assert.equal(shell, pty.pid);
    await pty.killTree();
    const { exitCode } = await pty.exited;
    assert.notEqual(exitCode, 0);
    const after = new Set((await processes()).map((p) => p.pid));
    for (const p of tree) assert.ok(!after.has(p.pid), `${p.name} (${p.pid}) is gone`);
    await pty.killTree(); // idempotent
  });

  test("as a session's user: WTSQueryUserToken + CreateProcessAsUserW onto the pseudo console", BOUND, async () => {
    const { pty, t } = await opened({ asSessionId: ownSessionId() });
    assert.ok(pty.runAsUser.length > 0);
    const from = t.raw.length;
    t.type('echo as-user');
    await t.until(/^as-user$/m, from);
    await pty.killTree();
  });
});

describe('spawnWindowsPty (the SpawnPty the agent uses)', () => {
  test('cmd.exe starts attached to the pseudo console (its title comes through the VT stream)', BOUND, async () => {
    const r = await track(spawnWindowsPty({ cols: 80, rows: 25, shell: CMD, asSessionId: 0 }));
    if (!r.ok) assert.fail(`${r.error.code} ${r.error.message}`);
    const t = watch(r.value);
    assert.ok(r.value.pid > 0);
    assert.ok(r.value.runAsUser.length > 0);
    // cmd's SetConsoleTitleW reaches us only through conhost and the output pipe: proof of attachment.
    const title = new RegExp(`${ESC}\\]0;[^${BEL}]*cmd\\.exe${BEL}`, 'i');
    for (let i = 0; i < 600 && !title.test(t.raw); i++) await sleep(50);
    assert.match(t.raw, title);
    if (!UNDER_WINE) {
      // Under Wine this plain cmd has no std handles (see top); on Windows it is fully interactive.
      const from = t.raw.length;
      t.type('echo plain-cmd');
      await t.until(/^plain-cmd$/m, from);
    }
    await r.value.killTree();
    assert.equal(typeof (await r.value.exited).exitCode, 'number');
  });

  test('SHELL_SH is NOT_AVAILABLE with a clear message; an unknown shell is refused', BOUND, async () => {
    const sh = await spawnWindowsPty({ cols: 80, rows: 25, shell: guruconnect.Shell.SHELL_SH, asSessionId: 0 });
    assert.equal(sh.ok, false);
    if (!sh.ok) {
      assert.equal(sh.error.code, 'NOT_AVAILABLE');
      assert.match(sh.error.message, /cmd or PowerShell/);
    }
    const odd = ptyCommandLine(99 as guruconnect.Shell);
    assert.equal(odd.ok, false);
    if (!odd.ok) assert.equal(odd.error.code, 'VALIDATION_FAILED');
  });

  test('command lines: cmd for the default shell, powershell.exe -NoLogo', () => {
    const paths = { cmd: 'C:\\W\\cmd.exe', powershell: 'C:\\W\\ps.exe' };
    assert.deepEqual(ptyCommandLine(guruconnect.Shell.SHELL_DEFAULT, paths), { ok: true, value: '"C:\\W\\cmd.exe"' });
    assert.deepEqual(ptyCommandLine(CMD, paths), { ok: true, value: '"C:\\W\\cmd.exe"' });
    assert.deepEqual(ptyCommandLine(guruconnect.Shell.SHELL_POWERSHELL, paths), { ok: true, value: '"C:\\W\\ps.exe" -NoLogo' });
  });

  test('COORD goes by value as one uint32, X (columns) low and Y (rows) high; sizes are clamped', () => {
    assert.equal(coord(80, 25), 0x00190050);
    assert.equal(coord(1000, 1000), 0x03e803e8);
    assert.equal(clampSize(0, 80), 80);
    assert.equal(clampSize(1001, 24), 24);
    assert.equal(clampSize(132, 80), 132);
  });

  test('PowerShell: opens when installed, else NOT_AVAILABLE naming cmd', BOUND, async () => {
    const r = await track(spawnWindowsPty({ cols: 80, rows: 25, shell: guruconnect.Shell.SHELL_POWERSHELL, asSessionId: 0 }));
    if (existsSync(shellPaths().powershell)) {
      if (!r.ok) assert.fail(`${r.error.code} ${r.error.message}`);
      await r.value.killTree();
      assert.equal(typeof (await r.value.exited).exitCode, 'number');
      return;
    }
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.code, 'NOT_AVAILABLE');
      assert.match(r.error.message, /cmd/);
    }
  });
});

describe('the terminal manager on this backend', () => {
  test('open, input, output and close travel as TerminalOutput messages', BOUND, async () => {
    const outs: TerminalOutput[] = [];
    const mgr = createTerminalManager({ spawnPty: (req) => openCmd(req), publish: (_id, o) => outs.push(o), log: silentLog() });
    const send = async (payload: Parameters<typeof message>[0]) => {
      const d = decode(encode(message(payload, { correlationId: 'term-1' })));
      assert.ok(d.ok);
      await mgr.handle(d.value);
    };
    const text = () => plain(outs.map((o) => (o.data ? Buffer.from(o.data).toString('utf8') : '')).join(''));
    const until = async (cond: () => boolean, what: string) => {
      for (let i = 0; i < 600 && !cond(); i++) await sleep(50);
      assert.ok(cond(), `${what}; output: ${JSON.stringify(text())}`);
    };
    await send({ terminalOpen: { cols: 80, rows: 25, shell: CMD } });
    assert.equal(outs[0]?.opened, true, 'the first message says opened');
    assert.ok((outs[0]?.runAsUser ?? '').length > 0);
    assert.equal(mgr.open, 1);
    await until(() => />$/m.test(text()), 'a prompt');
    await send({ terminalInput: { data: Buffer.from('echo gc-manager\r') } });
    await until(() => /^gc-manager$/m.test(text()), 'the echoed output');
    await send({ terminalClose: {} });
    await until(() => outs.some((o) => o.closed), 'a closed message');
    const last = outs.at(-1);
    assert.equal(last?.closed, true, 'closed is the last message');
    assert.equal(typeof last?.exitCode, 'number');
    assert.equal(mgr.open, 0);
    const seqs = outs.map((o) => Number(o.seq ?? 0));
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
      'seq only grows',
    );
  });
});
