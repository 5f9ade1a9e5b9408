/** The process lister over a hand-built /proc tree: hostile names, huge pids, vanished processes, unknown uids. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { COMMAND_LINE_MAX_BYTES, parseStatus, readCmdlineSync } from '../../agent/platform/linux/process-read.js';
import { createProcessLister } from '../../agent/platform/linux/processes.js';
import { decode, encode, message } from '../../proto/codec.js';

const root = mkdtempSync(join(tmpdir(), 'gc-fake-proc-'));
const proc = join(root, 'proc');
const passwd = join(root, 'passwd');
after(() => rmSync(root, { recursive: true, force: true }));

/** A /proc/<pid> directory; `comm` as raw bytes so it may hold anything a real kernel allows and more. */
function fakeProcess(pid: number, comm: Buffer | string, o: { uid?: number; ppid?: number; rssKb?: number; cmdline?: Buffer | string; status?: string | null; flags?: number } = {}) {
  const dir = join(proc, String(pid));
  mkdirSync(dir, { recursive: true });
  const tail = ` S ${o.ppid ?? 1} ${pid} ${pid} 0 -1 ${o.flags ?? 4194560} 100 0 0 0 250 50 0 0 20 0 1 0 300 0 0\n`;
  writeFileSync(join(dir, 'stat'), Buffer.concat([Buffer.from(`${pid} (`), Buffer.from(comm), Buffer.from(`)${tail}`)]));
  if (o.status !== null) {
    writeFileSync(join(dir, 'status'), o.status ?? `Name:\tx\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t${o.uid ?? 0}\t${o.uid ?? 0}\t0\t0\nVmRSS:\t  ${o.rssKb ?? 1234} kB\n`);
  }
  writeFileSync(join(dir, 'cmdline'), o.cmdline ?? Buffer.from('prog\0--flag\0'));
}

writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n');
fakeProcess(1, 'init');
// pid_max is at most 2^22 on 64-bit Linux: the largest pid a host can have.
fakeProcess(2 ** 22, 'big', { uid: 1000, ppid: 1 });
fakeProcess(4242, Buffer.from([0x61, 0x0a, 0x62, 0x29, 0x20, 0x28, 0x63, 0xff, 0x00, 0xed, 0xa0, 0x80]), { uid: 54321 });
fakeProcess(4243, 'long', { cmdline: Buffer.concat([Buffer.alloc(100_000, 0x41), Buffer.from([0])]) });
fakeProcess(4244, 'kthread', { cmdline: '', status: 'Name:\tkthread\nUid:\t0\t0\t0\t0\n' });
// Exited between the directory listing and the status read.
fakeProcess(4245, 'gone', { status: null });
// The kernel escapes a newline in Name:, so a forged "Uid:" after it must not be read as the uid.
fakeProcess(4246, 'forged', { uid: 1000, status: 'Name:\tx\\nUid:\t0\nUid:\t1000\t1000\t1000\t1000\nVmRSS:\t5 kB\n' });
// A kernel thread (PF_KTHREAD in stat's flags): its row is complete from stat alone.
fakeProcess(4248, 'kworker/0:1', { flags: 0x04208060, status: null, cmdline: 'never read' });
// A pid directory with nothing in it (vanished before any read) and entries that are not pids.
mkdirSync(join(proc, '4247'), { recursive: true });
mkdirSync(join(proc, 'self'), { recursive: true });
mkdirSync(join(proc, '12abc'), { recursive: true });

const list = createProcessLister({ procRoot: proc, passwdPath: passwd });

test('lists every readable process, leaves out vanished ones and non-pid entries', async () => {
  const rows = await list({ cpuSampleMs: 0 });
  assert.deepEqual(
    rows.map((r) => r.pid).sort((a, b) => (a ?? 0) - (b ?? 0)),
    [1, 4242, 4243, 4244, 4246, 4248, 2 ** 22],
  );
});

test('the largest possible pid and its owner come through', async () => {
  const big = (await list({ cpuSampleMs: 0 })).find((r) => r.pid === 2 ** 22);
  assert.deepEqual(big, { pid: 4194304, name: 'big', user: 'alice', memoryKb: 1234, parentPid: 1, sessionId: 0, cpuPercent: -1, commandLine: 'prog --flag' });
});

test('a name with newline, parentheses, invalid UTF-8, NUL and a surrogate half is well-formed text and survives protobuf', async () => {
  const odd = (await list({ cpuSampleMs: 0 })).find((r) => r.pid === 4242);
  assert.ok(odd);
  assert.equal(odd.name, 'a\nb) (c\ufffd\0\ufffd\ufffd\ufffd');
  // No UTF-16 surrogate at all (the name has no astral characters), so none is a lone half.
  assert.doesNotMatch(odd.name ?? '', /[\ud800-\udfff]/);
  // No passwd entry for the uid: the number, as ps shows it.
  assert.equal(odd.user, '54321');
  const back = decode(encode(message({ backstageOutput: { commandType: 2, final: true, processList: { processes: [odd] } } })));
  assert.ok(back.ok);
  assert.equal(back.value.backstageOutput?.processList?.processes?.[0]?.name, odd.name);
});

test('a 100 KB command line is cut; a kernel thread has none and no memory', async () => {
  const rows = await list({ cpuSampleMs: 0 });
  const long = rows.find((r) => r.pid === 4243);
  assert.equal(long?.commandLine, 'A'.repeat(COMMAND_LINE_MAX_BYTES));
  const k = rows.find((r) => r.pid === 4244);
  assert.equal(k?.commandLine, '');
  assert.equal(k?.memoryKb, 0);
});

test('a kernel thread is listed from its stat alone: root, no memory, no command line', async () => {
  const k = (await list({ cpuSampleMs: 0 })).find((r) => r.pid === 4248);
  assert.deepEqual(k, { pid: 4248, name: 'kworker/0:1', user: 'root', memoryKb: 0, parentPid: 1, sessionId: 0, cpuPercent: -1, commandLine: '' });
});

test('a forged Uid: inside an escaped name is not read as the uid', async () => {
  assert.equal((await list({ cpuSampleMs: 0 })).find((r) => r.pid === 4246)?.user, 'alice');
  assert.deepEqual(parseStatus('Uid:\t7\t7\t7\t7\nVmRSS:\t9 kB'), { uid: 7, rssKb: 9 });
  assert.deepEqual(parseStatus('garbage'), { uid: -1, rssKb: 0 });
});

test('a changed /etc/passwd is read again; an unchanged one is not needed again', async () => {
  const before = await list({ cpuSampleMs: 0 });
  assert.equal(before.find((r) => r.pid === 2 ** 22)?.user, 'alice');
  writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/bash\nbob:x:1000:1000::/home/bob:/bin/sh\n');
  // Same size as before is possible: force a different mtime so the change is seen whatever the clock granularity.
  utimesSync(passwd, new Date(2001, 0, 1), new Date(2001, 0, 1));
  const afterChange = await list({ cpuSampleMs: 0 });
  assert.equal(afterChange.find((r) => r.pid === 2 ** 22)?.user, 'bob');
  rmSync(passwd);
  const noPasswd = await list({ cpuSampleMs: 0 });
  assert.equal(noPasswd.find((r) => r.pid === 2 ** 22)?.user, '1000');
});

test('CPU sampling over the fake tree: a process whose ticks did not move is at 0 %', async () => {
  const rows = await list({ cpuSampleMs: 20 });
  assert.ok(rows.length > 0);
  assert.ok(rows.every((r) => r.cpuPercent === 0));
});

test('readCmdlineSync (the X server search): argv split at NULs, cut at 16 KiB, [] for what cannot be read', () => {
  assert.deepEqual(readCmdlineSync(proc, 1), ['prog', '--flag']);
  // No trailing NUL (a process that rewrote its argv), empty strings inside kept.
  fakeProcess(4250, 'x', { cmdline: Buffer.from('Xvfb\0\0:5\0-nolisten') });
  assert.deepEqual(readCmdlineSync(proc, 4250), ['Xvfb', '', ':5', '-nolisten']);
  // 100 KB in one argument: cut at 16 KiB, not grown.
  const long = readCmdlineSync(proc, 4243);
  assert.equal(long.length, 1);
  assert.equal(long[0]?.length, 16 * 1024);
  assert.deepEqual(readCmdlineSync(proc, 4244), []);
  // Invalid UTF-8 and a surrogate half's bytes come back as replacement characters, never lone surrogates.
  fakeProcess(4251, 'x', { cmdline: Buffer.from([0x61, 0xff, 0x00, 0xed, 0xa0, 0x80, 0x00]) });
  const odd = readCmdlineSync(proc, 4251);
  assert.deepEqual(odd, ['a\ufffd', '\ufffd\ufffd\ufffd']);
  assert.ok(odd.every((a) => !/[\ud800-\udfff]/.test(a)));
  // Pids that do not exist, negative or huge: nothing, no throw.
  for (const pid of [0, -1, 2 ** 31 - 1, 2 ** 32 - 1, 2 ** 63 - 1, 4245_0]) assert.deepEqual(readCmdlineSync(proc, pid), []);
  // Reads back to back share one buffer: an earlier result is not overwritten by a later read.
  const a = readCmdlineSync(proc, 1);
  readCmdlineSync(proc, 4250);
  assert.deepEqual(a, ['prog', '--flag']);
  // The real /proc: this process's own argv, starting with the node it runs on.
  const own = readCmdlineSync('/proc', process.pid);
  assert.match(own[0] ?? '', /node/);
  assert.ok(own.length >= 2);
});
