import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { guruconnect } from '../../proto/generated/guruconnect.js';
import { ErrorCode, err } from '../../proto/errors.js';
import { type OutputChunk, runCommand } from '../../agent/backstage/run-command.js';
import { createBackstageRunner } from '../../agent/backstage/runner.js';
import { truncationMarker } from '../../agent/backstage/output-collector.js';
import { createLinuxPlatform } from '../../agent/platform/linux/index.js';
import { startUserDisplays } from '../../infra/servers/x-displays.js';

const platform = createLinuxPlatform({ openDesktop: async () => err(ErrorCode.NOT_AVAILABLE, 'not in this test') });
const { Shell } = guruconnect;
const never = new AbortController().signal;
const base = { commandId: 'c', shell: Shell.SHELL_DEFAULT, timeoutMs: 20_000, capBytes: 102_400, asSessionId: 0 };

async function exec(commandText: string, extra: Partial<typeof base> = {}) {
  const chunks: OutputChunk[] = [];
  const r = await runCommand(platform, { ...base, ...extra, commandText }, (c) => chunks.push(c), never);
  assert.ok(r.ok, JSON.stringify(r));
  return { out: r.value, chunks };
}

/** Whether `pid` is still a live process running `sleep`. */
function sleepAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.includes('(sleep)') && !/\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

let xs: Awaited<ReturnType<typeof startUserDisplays>>;
let dir: string;
before(async () => {
  xs = await startUserDisplays(['gc-bob']);
  dir = mkdtempSync(join(tmpdir(), 'gc-backstage-'));
});
after(async () => {
  await xs.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('timeout kills the whole tree, including a child that left the session', async () => {
  const { out } = await exec('sleep 30 & echo $!; sleep 30 & echo $!; setsid sleep 30 & echo $!; wait', { timeoutMs: 1500 });
  assert.equal(out.timedOut, true);
  assert.equal(out.cancelled, false);
  assert.equal(out.exitCode, -1);
  const pids = (out.stdout ?? '').trim().split('\n').map(Number);
  assert.equal(pids.length, 3);
  for (const pid of pids) assert.equal(sleepAlive(pid), false, `sleep ${pid} survived`);
});

test('5 MB of output is capped at 100 KB with one marker; output_bytes counts all of it', async () => {
  const { out, chunks } = await exec("head -c 5000000 /dev/zero | tr '\\0' x");
  const marker = truncationMarker(102_400);
  assert.equal(marker, '\n[output truncated: 100 KB limit reached]\n');
  assert.equal(out.truncated, true);
  assert.equal(out.outputBytes, 5_000_000);
  assert.equal(out.exitCode, 0);
  assert.equal(chunks.filter((c) => c.data === marker).length, 1);
  const payload = chunks
    .filter((c) => c.data !== marker)
    .map((c) => c.data)
    .join('');
  assert.equal(payload, 'x'.repeat(102_400));
  assert.equal(out.stdout, payload + marker);
});

test('non-ASCII, quotes and shell metacharacters come through as typed', async () => {
  const a = await exec("printf 'héllo wörld ✓ 日本語'");
  assert.equal(a.out.stdout, 'héllo wörld ✓ 日本語');
  assert.equal(a.chunks.map((c) => c.data).join(''), 'héllo wörld ✓ 日本語');
  const b = await exec(`printf '%s\\n' 'a&b|c;d$(e)' "q\\"uote"`);
  assert.equal(b.out.stdout, 'a&b|c;d$(e)\nq"uote\n');
});

test('stderr is kept apart and a non-zero exit code is reported', async () => {
  const { out, chunks } = await exec('echo out; echo err >&2; exit 7');
  assert.equal(out.stdout, 'out\n');
  assert.equal(out.stderr, 'err\n');
  assert.equal(out.exitCode, 7);
  assert.equal(out.timedOut, false);
  assert.ok(chunks.some((c) => c.stream === 'stderr' && c.data === 'err\n'));
  assert.equal(out.runAsUser, 'root');
});

test('output streams while the command is still running', async () => {
  const go = join(dir, 'go');
  const { out } = await runCommand(
    platform,
    { ...base, commandText: `echo first; while [ ! -f '${go}' ]; do sleep 0.05; done; echo second` },
    (c) => {
      if (c.data.includes('first')) writeFileSync(go, '');
    },
    never,
  ).then((r) => {
    assert.ok(r.ok);
    return { out: r.value };
  });
  assert.equal(out.timedOut, false, 'the first line never arrived before exit');
  assert.equal(out.stdout, 'first\nsecond\n');
  assert.ok(existsSync(go));
});

test("running as gc-bob's session gives gc-bob, with that display", async () => {
  const bob = xs.displays[0]!;
  const { out } = await exec('id -un; echo "$DISPLAY $HOME"', { asSessionId: bob.display + 1 });
  assert.equal(out.runAsUser, 'gc-bob');
  assert.equal(out.stdout, `gc-bob\n${bob.name} /home/gc-bob\n`);
  const missing = await runCommand(platform, { ...base, commandText: 'true', asSessionId: 59_999 }, () => {}, never);
  assert.equal(!missing.ok && missing.error.code, ErrorCode.SESSION_NOT_FOUND);
  const cmd = await runCommand(platform, { ...base, commandText: 'dir', shell: Shell.SHELL_CMD }, () => {}, never);
  assert.equal(!cmd.ok && cmd.error.code, ErrorCode.NOT_AVAILABLE);
});

test('runner: cancel by id, capacity limit, timeout clamped to the maximum', async () => {
  const runner = createBackstageRunner(platform, { maxConcurrent: 2, maxTimeoutMs: 4000 });
  const req = { commandText: 'sleep 30', shell: Shell.SHELL_DEFAULT, asSessionId: 0 };
  const a = runner.run({ ...req, commandId: 'a', timeoutMs: 20_000 }, () => {});
  const b = runner.run({ ...req, commandId: 'b', timeoutMs: 60_000 }, () => {});
  assert.deepEqual(runner.running().sort(), ['a', 'b']);
  const c = await runner.run({ ...req, commandId: 'c' }, () => {});
  assert.equal(!c.ok && c.error.code, ErrorCode.CAPACITY_EXCEEDED);
  const dup = await runner.run({ ...req, commandId: 'a' }, () => {});
  assert.equal(!dup.ok && dup.error.code, ErrorCode.CONFLICT);
  assert.equal(runner.cancel('a'), true);
  assert.equal(runner.cancel('nope'), false);
  const ra = await a;
  assert.ok(ra.ok && ra.value.cancelled && !ra.value.timedOut, JSON.stringify(ra));
  // 60 s asked, 4 s allowed: it times out instead of sleeping 30 s.
  const rb = await b;
  assert.ok(rb.ok && rb.value.timedOut && !rb.value.cancelled, JSON.stringify(rb));
  assert.deepEqual(runner.running(), []);
});
