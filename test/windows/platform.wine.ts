/**
 * The Windows backend on real Win32 calls: run by test/windows/run.sh inside Wine with the Windows
 * node.exe (`node.exe --test`). Not a *.test.ts file on purpose: Linux's runner must not pick it up.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { guruconnect } from '../../proto/generated/guruconnect.js';
import { createWindowsPlatform } from '../../agent/platform/windows/index.js';
import { HWND_MESSAGE, type SessionChange, SessionChangeReason, WATCH_CLASS_PREFIX, watchSessionNotifications } from '../../agent/platform/windows/session-notifications.js';
import { ownSessionId } from '../../agent/platform/windows/sessions.js';
import { shellPaths } from '../../agent/platform/windows/spawn.js';
import { transcodeToUtf8 } from '../../agent/platform/windows/transcode.js';
import { win32 } from '../../agent/platform/windows/win32-api.js';
import type { SpawnRequest, SpawnedProcess } from '../../agent/platform/port.js';
import { truncationMarker } from '../../agent/backstage/output-collector.js';
import { DEFAULT_CAP_BYTES, runCommand } from '../../agent/backstage/run-command.js';
import { UNDER_WINE } from './under-wine.js';

const platform = createWindowsPlatform({ agentVersion: 'wine-test' });
const CMD = guruconnect.Shell.SHELL_CMD;

interface Ran {
  proc: SpawnedProcess;
  stdout: string;
  stderr: string;
  bytes: number;
  exitCode: number;
}

/** Spawns, collects both streams decoded with the reported encoding, waits for the exit. */
async function run(commandText: string, extra: Partial<SpawnRequest> = {}): Promise<Ran> {
  const r = await platform.spawn({ commandText, shell: CMD, asSessionId: 0, ...extra });
  if (!r.ok) assert.fail(`spawn failed: ${r.error.code} ${r.error.message}`);
  const proc = r.value;
  const dec = { stdout: new TextDecoder(proc.encoding), stderr: new TextDecoder(proc.encoding) };
  const out = { stdout: '', stderr: '', bytes: 0 };
  proc.onData((s, b) => {
    out[s] += dec[s].decode(b, { stream: true });
    out.bytes += b.length;
  });
  const { exitCode } = await proc.exited;
  return { proc, ...out, exitCode };
}

describe('system info', () => {
  test('identity, OS version and uptime come from the real calls', async () => {
    const id = await platform.identity();
    assert.ok(id.hostname.length > 0, 'GetComputerNameW gave a name');
    assert.match(id.osVersion, /^Windows (11 )?10\.0\.\d+/, 'RtlGetVersion says Windows 10 (the prefix is set to win10)');
    assert.equal(typeof id.elevated, 'boolean');
    assert.ok((await platform.uptimeSecs()) > 0);
    const info = await platform.systemInfo();
    assert.ok(info.ok);
    assert.equal(info.value.platform, 'windows');
    assert.equal(info.value.hostname, id.hostname);
    assert.ok(Number(info.value.memoryTotalKb) > 0, 'GlobalMemoryStatusEx gave the memory size');
    assert.ok(Number(info.value.memoryFreeKb) <= Number(info.value.memoryTotalKb));
  });
});

describe('sessions', () => {
  test('enumeration returns a well-formed list without Session 0 (empty under Wine)', async () => {
    const r = await platform.listSessions();
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    for (const s of r.value) {
      assert.notEqual(s.sessionId, 0);
      assert.ok(typeof s.stationName === 'string');
    }
    assert.ok(ownSessionId() > 0, 'this process runs in a user session (Wine: 1)');
  });
});

describe('session notifications', () => {
  // Windows' own number, written here rather than imported so a wrong constant in the module fails.
  const WM_WTSSESSION_CHANGE = 0x02b1;
  const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
  /** Waits for `cond` with a generous deadline: a liveness bound, not a timing claim. */
  const eventually = async (cond: () => boolean, what: string) => {
    for (let i = 0; i < 100 && !cond(); i++) await sleep(50);
    assert.ok(cond(), what);
  };

  /** The message-only windows of session watchers in this process (FindWindowExW over HWND_MESSAGE). */
  const watcherWindows = (): bigint[] => {
    const w = win32();
    const out: bigint[] = [];
    const name = Buffer.alloc(512);
    let h: bigint | null = null;
    for (;;) {
      h = w.FindWindowExW(HWND_MESSAGE, h, null, null) as bigint | null;
      if (!h) return out;
      const n = w.GetClassNameW(h, name, 256) as number;
      if (name.toString('utf16le', 0, n * 2).startsWith(WATCH_CLASS_PREFIX)) out.push(h);
    }
  };

  test("the port's watchSessions: a change posted to its window calls onChange; unsubscribe removes the window", async () => {
    const logs: string[] = [];
    const p = createWindowsPlatform({ log: (m) => logs.push(m) });
    const before = watcherWindows();
    let calls = 0;
    const unsubscribe = p.watchSessions?.(() => calls++);
    assert.equal(typeof unsubscribe, 'function');
    const mine = watcherWindows().filter((h) => !before.includes(h));
    assert.equal(mine.length, 1, 'one new message-only window');
    win32().PostMessageW(mine[0], WM_WTSSESSION_CHANGE, SessionChangeReason.Logoff, ownSessionId());
    await eventually(() => calls > 0, 'onChange fired');
    unsubscribe?.();
    unsubscribe?.(); // idempotent
    assert.deepEqual(watcherWindows(), before, 'its window is gone');
    assert.deepEqual(logs, [], 'nothing degraded');
  });

  test('WM_WTSSESSION_CHANGE posted to the message-only window reaches onChange through the pump and WNDPROC', async () => {
    const w = win32();
    const logs: string[] = [];
    const got: SessionChange[] = [];
    const n = watchSessionNotifications((c) => got.push(c), { log: (m) => logs.push(m) });
    assert.equal(n.failure, '', 'no step failed');
    assert.notEqual(n.hwnd, 0n, 'a window was made');
    assert.equal(w.IsWindow(n.hwnd), true, 'IsWindow: the message-only window exists');
    assert.equal(n.registered, true, 'WTSRegisterSessionNotification answered TRUE (a stub under Wine)');
    const own = ownSessionId();
    // Other messages go to DefWindowProcW and must not count as a session change.
    assert.equal(w.PostMessageW(n.hwnd, 0x0400 /* WM_USER */, 1, 2), true);
    assert.equal(w.PostMessageW(n.hwnd, WM_WTSSESSION_CHANGE, SessionChangeReason.Lock, own), true);
    await eventually(() => got.length > 0, 'onChange fired for the posted lock');
    assert.deepEqual(got, [{ reason: SessionChangeReason.Lock, sessionId: own }]);

    // A burst (logon brings several) is reported once, with the latest change.
    got.length = 0;
    w.PostMessageW(n.hwnd, WM_WTSSESSION_CHANGE, SessionChangeReason.Logon, own);
    w.PostMessageW(n.hwnd, WM_WTSSESSION_CHANGE, SessionChangeReason.Unlock, own);
    await eventually(() => got.length > 0, 'onChange fired for the burst');
    await sleep(500);
    assert.deepEqual(got, [{ reason: SessionChangeReason.Unlock, sessionId: own }]);

    n.unsubscribe();
    assert.equal(w.IsWindow(n.hwnd), false, 'the window is gone after unsubscribe');
    assert.equal(n.registered, false);
    got.length = 0;
    assert.equal(w.PostMessageW(n.hwnd, WM_WTSSESSION_CHANGE, SessionChangeReason.Lock, own), false, 'nothing left to post to');
    await sleep(600);
    assert.deepEqual(got, [], 'no onChange after unsubscribe');
    n.unsubscribe(); // idempotent
    assert.deepEqual(logs, []);
  });

  test('several watchers at once each get their own window and changes', async () => {
    const w = win32();
    const a: SessionChange[] = [];
    const b: SessionChange[] = [];
    const na = watchSessionNotifications((c) => a.push(c));
    const nb = watchSessionNotifications((c) => b.push(c));
    try {
      assert.notEqual(na.hwnd, nb.hwnd);
      w.PostMessageW(nb.hwnd, WM_WTSSESSION_CHANGE, SessionChangeReason.RemoteConnect, 7);
      await eventually(() => b.length > 0, 'the second watcher got its change');
      await sleep(300);
      assert.deepEqual(b, [{ reason: SessionChangeReason.RemoteConnect, sessionId: 7 }]);
      assert.deepEqual(a, [], 'the first watcher saw nothing');
    } finally {
      na.unsubscribe();
      nb.unsubscribe();
    }
  });
});

describe('services', () => {
  test('listed with names, status and startup type', async () => {
    const r = await platform.listServices();
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    assert.equal(r.value.available, true);
    const list = r.value.services ?? [];
    assert.ok(list.length >= 3, `expected several services, got ${list.length}`);
    const statuses = new Set(Object.values(guruconnect.ServiceStatus));
    for (const s of list) {
      assert.match(s.name ?? '', /^[\w.$ -]+$/, `service name looks like a name: ${JSON.stringify(s.name)}`);
      assert.ok((s.displayName ?? '').length > 0, `${s.name} has a display name`);
      assert.ok(statuses.has((s.status ?? -1) as guruconnect.ServiceStatus), `${s.name} status ${s.status}`);
      assert.match(s.startupType ?? '', /^(Automatic|Manual|Disabled|Boot|System)$/, `${s.name} startup ${s.startupType}`);
    }
    const running = list.filter((s) => s.status === guruconnect.ServiceStatus.SERVICE_RUNNING);
    assert.ok(running.length > 0, 'some service runs');
    assert.ok(
      running.every((s) => (s.pid ?? 0) > 0),
      'running services have a pid',
    );
  });

  test('controlling an unknown service says NOT_FOUND', async () => {
    const r = await platform.controlService('gc-no-such-service', 'start');
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.error.code, 'NOT_FOUND');
  });
});

describe('processes', () => {
  test('the list holds this node.exe with its pid', async () => {
    const r = await platform.listProcesses({ cpuSampleMs: 0 });
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    const me = r.value.find((p) => p.pid === process.pid);
    assert.ok(me, `pid ${process.pid} is in the list of ${r.value.length}`);
    assert.equal(me.name?.toLowerCase(), 'node.exe');
    assert.equal(me.cpuPercent, -1);
    assert.ok(Number(me.memoryKb) > 1000, `working set ${me.memoryKb} kB`);
    assert.equal(me.sessionId, ownSessionId());
  });

  test('sampling CPU gives a percentage per process', async () => {
    const r = await platform.listProcesses({ cpuSampleMs: 300 });
    assert.ok(r.ok);
    const me = r.value.find((p) => p.pid === process.pid);
    assert.ok(me && (me.cpuPercent ?? -1) >= 0 && (me.cpuPercent ?? 0) <= 100, `cpu ${me?.cpuPercent}`);
  });

  test('killing an unknown pid says NOT_FOUND', async () => {
    const r = await platform.killProcess(0x7ffffff0);
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.error.code, 'NOT_FOUND');
  });
});

describe('spawn', () => {
  test('cmd.exe echo hello: output, exit 0, encoding and user', async () => {
    const r = await run('echo hello');
    assert.equal(r.stdout, 'hello\r\n');
    assert.equal(r.stderr, '');
    assert.equal(r.exitCode, 0);
    assert.doesNotThrow(() => new TextDecoder(r.proc.encoding));
    assert.ok(r.proc.pid > 0);
    assert.ok(r.proc.runAsUser.length > 0, 'runAsUser names the account');
  });

  test('the exit code comes back', async () => {
    assert.equal((await run('exit /b 3')).exitCode, 3);
  });

  test('stderr is kept apart from stdout', async () => {
    const r = await run('echo out& echo err 1>&2');
    assert.match(r.stdout, /^out/);
    assert.doesNotMatch(r.stdout, /err/);
    assert.match(r.stderr, /^err/);
  });

  test('the command text reaches cmd as typed (quotes, &, %VAR%, %% stays as on a command line)', async () => {
    const r = await run('echo "a b"& echo %OS% 100%% done');
    assert.equal(r.stdout, '"a b"\r\nWindows_NT 100%% done\r\n');
  });

  test('killTree ends ping and everything it started, long before its 30 s', async () => {
    const started = Date.now();
    const r = await platform.spawn({ commandText: 'ping -n 30 127.0.0.1', shell: CMD, asSessionId: 0 });
    assert.ok(r.ok);
    const proc = r.value;
    proc.onData(() => {});
    const pingOf = async () => {
      const l = await platform.listProcesses({ cpuSampleMs: 0 });
      assert.ok(l.ok);
      return l.value.filter((p) => p.parentPid === proc.pid && /^ping(\.exe)?$/i.test(p.name ?? ''));
    };
    let seen = await pingOf();
    for (let i = 0; i < 50 && seen.length === 0; i++) {
      await new Promise((res) => setTimeout(res, 100));
      seen = await pingOf();
    }
    assert.equal(seen.length, 1, 'ping.exe runs as a child of cmd.exe before the kill');
    await proc.killTree();
    const { exitCode } = await proc.exited;
    assert.notEqual(exitCode, 0);
    assert.ok(Date.now() - started < 20_000, 'returned long before ping would have finished');
    const after = await platform.listProcesses({ cpuSampleMs: 0 });
    assert.ok(after.ok);
    assert.ok(!after.value.some((p) => p.pid === seen[0]?.pid), 'the ping process is gone');
    await proc.killTree(); // idempotent
  });

  test('killProcess ends a spawned process', async () => {
    const r = await platform.spawn({ commandText: 'ping -n 30 127.0.0.1', shell: CMD, asSessionId: 0 });
    assert.ok(r.ok);
    const k = await platform.killProcess(r.value.pid);
    assert.ok(k.ok && k.value.ok, 'TerminateProcess succeeded');
    assert.equal((await r.value.exited).exitCode, 1);
    await r.value.killTree();
  });

  test('more than 100 KB of output arrives whole (the agent policy caps it, not the backend)', async () => {
    const line = '0123456789012345678901234567890123456789012345678901234567890123456789';
    const r = await run(`for /L %i in (1,1,1600) do @echo ${line}`);
    assert.equal(r.exitCode, 0);
    assert.equal(r.bytes, 1600 * (line.length + 2));
    assert.ok(r.bytes > 100 * 1024);
  });

  test('powershell: runs when installed, else a clear NOT_AVAILABLE', async () => {
    const shell = guruconnect.Shell.SHELL_POWERSHELL;
    if (existsSync(shellPaths().powershell)) {
      const r = await run('Write-Output "p s"', { shell });
      // Wine ships a powershell.exe stub that runs nothing; real Windows must echo the text back.
      if (UNDER_WINE) assert.equal(typeof r.exitCode, 'number');
      else assert.equal(r.stdout.trim(), 'p s');
      return;
    }
    const r = await platform.spawn({ commandText: 'Write-Output 1', shell, asSessionId: 0 });
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.code, 'NOT_AVAILABLE');
      assert.match(r.error.message, /cmd/);
    }
  });

  test("runs as a session's user via WTSQueryUserToken + CreateProcessAsUserW", async () => {
    const r = await run('echo as-user', { asSessionId: ownSessionId() });
    assert.equal(r.stdout, 'as-user\r\n');
    assert.ok(r.proc.runAsUser.length > 0);
  });

  test('OEM code pages TextDecoder lacks are transcoded by MultiByteToWideChar', () => {
    assert.equal(Buffer.from(transcodeToUtf8(Uint8Array.from([0x80, 0x82, 0x41]), 437)).toString('utf8'), 'ÇéA');
    assert.equal(Buffer.from(transcodeToUtf8(Uint8Array.from([0x9d]), 850)).toString('utf8'), 'Ø');
  });
});

describe('backstage commands through the shared policy (agent/backstage/run-command.ts)', () => {
  const policy = (commandText: string, timeoutMs = 30_000) =>
    runCommand(platform, { commandId: 'c1', commandText, shell: CMD, timeoutMs, capBytes: 0, asSessionId: 0 }, () => {}, new AbortController().signal);

  test('hello, exit code and stderr apart', async () => {
    const r = await policy('echo hello& echo oops 1>&2& exit /b 3');
    assert.ok(r.ok);
    assert.equal(r.value.stdout, 'hello\r\n');
    assert.equal(r.value.stderr, 'oops \r\n');
    assert.equal(r.value.exitCode, 3);
    assert.ok((r.value.runAsUser ?? '').length > 0);
  });

  test('a timeout kills ping through the job object', async () => {
    const before = Date.now();
    const r = await policy('ping -n 30 127.0.0.1', 1500);
    assert.ok(r.ok);
    assert.equal(r.value.timedOut, true);
    assert.ok(Date.now() - before < 20_000, 'returned long before 30 s');
    const l = await platform.listProcesses({ cpuSampleMs: 0 });
    assert.ok(l.ok);
    assert.equal(l.value.filter((p) => /^ping(\.exe)?$/i.test(p.name ?? '')).length, 0, 'no ping.exe left');
  });

  test('output is capped at 100 KB and marked truncated', async () => {
    const line = '0123456789012345678901234567890123456789012345678901234567890123456789';
    const r = await policy(`for /L %i in (1,1,1600) do @echo ${line}`);
    assert.ok(r.ok);
    assert.equal(r.value.truncated, true);
    assert.equal(Number(r.value.outputBytes), 1600 * (line.length + 2));
    const marker = truncationMarker(DEFAULT_CAP_BYTES);
    assert.ok(r.value.stdout?.endsWith(marker), 'the text ends with the truncation marker');
    const kept = Buffer.byteLength(r.value.stdout ?? '') - Buffer.byteLength(marker);
    assert.ok(kept <= DEFAULT_CAP_BYTES && kept > DEFAULT_CAP_BYTES - line.length - 2, `kept ${kept} bytes`);
  });
});

describe('desktop', () => {
  test('another session is refused with a clear code; the own one opens or says NOT_AVAILABLE', async () => {
    const other = await platform.openDesktop(4242);
    assert.equal(other.ok, false);
    if (!other.ok) assert.match(other.error.code, /^SESSION_NOT_(FOUND|CAPTURABLE)$/);
    const zero = await platform.openDesktop(0);
    assert.equal(zero.ok, false);
    const own = await platform.openDesktop(ownSessionId());
    if (!own.ok) {
      assert.equal(own.error.code, 'NOT_AVAILABLE');
      return;
    }
    const frame = await own.value.grab();
    if (frame.ok) {
      assert.ok(frame.value.width > 0 && frame.value.height > 0);
      assert.equal(frame.value.data.length, frame.value.stride * frame.value.height);
    } else {
      assert.equal(frame.error.code, 'NOT_AVAILABLE');
    }
    own.value.close();
  });
});
