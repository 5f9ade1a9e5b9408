/**
 * Backstage commands started with posix_spawn (agent/platform/linux/posix-spawn.ts) get what
 * child_process gave them: output, exit code, their own session, /dev/null as stdin, every signal at
 * its default and none blocked, the directory asked for; they are reaped (no zombie), also when a
 * descendant holds the pipes; failures are errors, and a NUL is refused rather than cut short.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { type PosixChild, posixSpawn } from '../../agent/platform/linux/posix-spawn.js';

const onLinux = process.platform === 'linux';

async function run(script: string, cwd = '/'): Promise<{ child: PosixChild; code: number; out: string; err: string }> {
  const child = await posixSpawn('/bin/sh', ['-c', script], { env: { PATH: process.env.PATH, GC_T: 'x' }, cwd });
  assert.ok(child && !(child instanceof Error), String(child));
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const code = await child.exited;
  return { child, code, out, err };
}

/** Whether `pid` is gone or only a zombie nobody reaped. */
const state = (pid: number) => (existsSync(`/proc/${pid}`) ? (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] ?? '?') : 'gone');

describe('posix_spawn for backstage commands', { skip: !onLinux && 'Linux only' }, () => {
  it('passes output and the exit code, and reaps the process', async () => {
    const r = await run('echo out; echo err >&2; exit 7');
    assert.deepEqual([r.code, r.out, r.err], [7, 'out\n', 'err\n']);
    assert.equal(state(r.child.pid), 'gone');
  });

  it('gives the child its own session, /dev/null as stdin, default signals, no blocked ones, the directory and the environment asked for', async () => {
    const r = await run('echo "sid=$(cut -d" " -f6 /proc/$$/stat) pid=$$"; readlink /proc/$$/fd/0; pwd; echo "$GC_T"', '/tmp');
    const [ids, stdin, cwd, env] = r.out.trim().split('\n');
    const m = /^sid=(\d+) pid=(\d+)$/.exec(ids ?? '');
    assert.ok(m && m[1] === m[2], ids);
    assert.equal(stdin, '/dev/null');
    assert.deepEqual([cwd, env], ['/tmp', 'x']);
    // Read by the spawned program itself (a shell blocks signals for a moment while it waits for a child).
    const g = await posixSpawn('/bin/grep', ['-E', '^Sig(Ign|Blk)', '/proc/self/status'], { env: {}, cwd: '/' });
    assert.ok(g && !(g instanceof Error));
    let sig = '';
    g.stdout.on('data', (d) => (sig += d));
    g.stderr.resume();
    assert.equal(await g.exited, 0);
    assert.match(sig, /^SigBlk:\s+0+\nSigIgn:\s+0+\n$/);
  });

  it('a pipeline gets SIGPIPE (Node ignores it; the child must not)', async () => {
    const r = await run('yes | head -n 1');
    assert.equal(r.out, 'y\n');
    assert.equal(r.err, '', 'yes ended by SIGPIPE, not by a write error');
  });

  it('a process ended by a signal has exit code -1', async () => {
    const r = await run('kill -9 $$');
    assert.equal(r.code, -1);
  });

  it('waits for a descendant holding the pipes, and leaves no zombie meanwhile', async () => {
    const r = await run('(sleep 0.3; echo late) & echo early');
    assert.equal(r.out, 'early\nlate\n');
    assert.equal(r.code, 0);
    assert.equal(state(r.child.pid), 'gone');
  });

  it('a missing program or directory is an error, and a NUL is refused, not cut short', async () => {
    assert.ok((await posixSpawn('/nonexistent/prog', [], { env: {}, cwd: '/' })) instanceof Error);
    assert.ok((await posixSpawn('/bin/sh', ['-c', 'true'], { env: {}, cwd: '/nonexistent-dir' })) instanceof Error);
    for (const o of [
      { args: ['-c', 'echo safe\0; touch /tmp/never'], env: {}, cwd: '/' },
      { args: ['-c', 'true'], env: { X: 'a\0b' }, cwd: '/' },
      { args: ['-c', 'true'], env: {}, cwd: '/\0tmp' },
    ]) {
      const r = await posixSpawn('/bin/sh', o.args, { env: o.env, cwd: o.cwd });
      assert.ok(r instanceof Error && /NUL/.test(r.message), String(r));
    }
  });

  it('keeps hostile text intact: quotes, newlines, a lone surrogate (as U+FFFD), 100k characters', async () => {
    const text = `it's "quoted"\nline2 \ud800 ${'z'.repeat(100_000)}`;
    const child = await posixSpawn('/bin/sh', ['-c', 'printf %s "$1"', 'sh', text], { env: {}, cwd: '/' });
    assert.ok(child && !(child instanceof Error));
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stderr.resume();
    assert.equal(await child.exited, 0);
    assert.equal(Buffer.concat(chunks).toString('utf8'), text.replace('\ud800', '\ufffd'));
  });
});
