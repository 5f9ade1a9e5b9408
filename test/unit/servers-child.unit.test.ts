/** startChild: a service's output lands in its log file, written by the child itself, not copied through this process. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startChild } from '../../infra/servers/child.js';

describe('startChild', () => {
  it("appends the child's stdout and stderr to its log file, hostile bytes as they are, with no pipe through the parent", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gc-child-'));
    try {
      const logFile = join(dir, 'logs', 'svc.log');
      const script = ["process.stdout.write('out line\\n');", "process.stderr.write('err line\\n');", "process.stdout.write('nul\\u0000 lone\\ud800 ' + 'x'.repeat(100000) + '\\n');"].join('');
      const first = startChild(process.execPath, ['-e', script], { logFile });
      assert.equal(first.proc.stdout, null, 'stdout is the file, not a pipe to this process');
      assert.equal(first.proc.stderr, null, 'stderr is the file, not a pipe to this process');
      assert.equal(await first.exited, 0);
      const second = startChild(process.execPath, ['-e', "console.log('second run')"], { logFile });
      assert.equal(await second.exited, 0);
      const text = readFileSync(logFile, 'utf8');
      assert.match(text, /^out line\n/);
      assert.match(text, /err line\n/);
      assert.ok(text.includes(`nul\0 lone\ufffd ${'x'.repeat(100_000)}\n`), 'the long line with NUL and a lone surrogate (written as U+FFFD) is whole');
      assert.ok(text.endsWith('second run\n'), 'the second run appended');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops a child that ignores SIGTERM with SIGKILL after the grace time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gc-child-'));
    try {
      const c = startChild(process.execPath, ['-e', "process.on('SIGTERM', () => {}); console.log('up'); setInterval(() => {}, 1000)"], { logFile: join(dir, 'svc.log') });
      // Wait until it is up (its handler installed) by reading its own log.
      while (!readFileSync(join(dir, 'svc.log'), 'utf8').includes('up')) await new Promise((r) => setTimeout(r, 20));
      await c.stop(100);
      assert.equal(c.proc.signalCode, 'SIGKILL');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
