/** Terminal manager policy with a fake pty: NOT_AVAILABLE without one, capacity, ordering, coalescing, idle close, viewer lease. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Decoded } from '../../proto/codec.js';
import { ok } from '../../proto/errors.js';
import type { PtyProcess, SpawnPty } from '../../agent/terminal/pty-types.js';
import { createTerminalManager } from '../../agent/terminal/terminal-manager.js';
import type { TerminalOutput } from '../../agent/terminal/terminal-publisher.js';
import { logLines, silentLog } from '../support/log-lines.js';

const msg = (id: string, p: Partial<Decoded>) => ({ meta: { id: `${Math.random()}`, correlationId: id }, ...p }) as unknown as Decoded;
const open = (id: string) => msg(id, { terminalOpen: { cols: 80, rows: 24 } } as Partial<Decoded>);

function fakePty() {
  const made: { written: string[]; emit(s: string): void; exit(code: number): void; killed: boolean }[] = [];
  const spawnPty: SpawnPty = async () => {
    let onData: (b: Uint8Array) => void = () => {};
    let exit: (v: { exitCode: number }) => void = () => {};
    const rec = { written: [] as string[], emit: (s: string) => onData(Buffer.from(s)), exit: (c: number) => exit({ exitCode: c }), killed: false };
    made.push(rec);
    const p: PtyProcess = {
      pid: 1,
      runAsUser: 'tester',
      onData: (cb) => {
        onData = cb;
      },
      write: (b) => rec.written.push(Buffer.from(b).toString()),
      resize: async () => ok(undefined),
      shellPid: async () => 2,
      exited: new Promise((r) => {
        exit = r;
      }),
      killTree: async () => {
        rec.killed = true;
        exit({ exitCode: -1 });
      },
    };
    return ok(p);
  };
  return { made, spawnPty };
}

const collect = () => {
  const out: { id: string; o: TerminalOutput }[] = [];
  return { out, publish: (id: string, o: TerminalOutput) => out.push({ id, o }) };
};
const tick = (ms = 40) => new Promise((r) => setTimeout(r, ms));

describe('terminal manager', () => {
  it('answers NOT_AVAILABLE when the platform has no pty backend (e.g. macOS)', async () => {
    const c = collect();
    const m = createTerminalManager({ publish: c.publish, log: silentLog() });
    await m.handle(open('t1'));
    assert.equal(c.out.length, 1);
    assert.equal(c.out[0]!.o.closed, true);
    assert.equal(c.out[0]!.o.error?.code, 'NOT_AVAILABLE');
  });

  it("logs a terminal's open and close under its terminal id as the correlation id", async () => {
    const { log, lines } = logLines();
    const f = fakePty();
    const m = createTerminalManager({ spawnPty: f.spawnPty, publish: collect().publish, log });
    await m.handle(open('t7'));
    f.made[0]!.exit(3);
    await tick();
    assert.deepEqual(
      lines.map((l) => [l.correlation_id, l.msg, l.exit_code]),
      [
        ['t7', 'terminal opened as tester', undefined],
        ['t7', 'terminal closed', 3],
      ],
    );
  });

  it('opens, coalesces output, routes input, and closes with the exit code last', async () => {
    const c = collect();
    const f = fakePty();
    const m = createTerminalManager({ spawnPty: f.spawnPty, publish: c.publish, log: silentLog(), coalesceMs: 20 });
    await m.handle(open('t1'));
    await m.handle(msg('t1', { terminalInput: { data: Buffer.from('ls\r') } } as Partial<Decoded>));
    f.made[0]!.emit('a');
    f.made[0]!.emit('b');
    await tick();
    f.made[0]!.exit(3);
    await tick();
    assert.deepEqual(f.made[0]!.written, ['ls\r']);
    const [first, data, last] = c.out.map((x) => x.o);
    assert.equal(first!.opened, true);
    assert.equal(first!.runAsUser, 'tester');
    assert.equal(Buffer.from(data!.data!).toString(), 'ab', 'two chunks in one message');
    assert.equal(last!.closed, true);
    assert.equal(last!.exitCode, 3);
    assert.ok(c.out.every((x) => x.id === 't1'));
    assert.deepEqual(
      c.out.map((x) => Number(x.o.seq)),
      [1, 2, 3],
    );
    assert.equal(m.open, 0);
  });

  it('refuses a fifth terminal with CAPACITY_EXCEEDED and kills all at shutdown', async () => {
    const c = collect();
    const f = fakePty();
    const m = createTerminalManager({ spawnPty: f.spawnPty, publish: c.publish, log: silentLog(), maxTerminals: 4 });
    for (const id of ['a', 'b', 'c', 'd', 'e']) await m.handle(open(id));
    assert.equal(c.out.find((x) => x.id === 'e')?.o.error?.code, 'CAPACITY_EXCEEDED');
    assert.equal(m.open, 4);
    await m.closeAll();
    assert.equal(m.open, 0);
    assert.ok(f.made.every((p) => p.killed));
    assert.equal(c.out.filter((x) => x.o.closed && x.o.error?.code === 'CANCELLED').length, 4);
  });

  it('closes an idle terminal with TIMEOUT', async () => {
    const c = collect();
    const f = fakePty();
    const m = createTerminalManager({ spawnPty: f.spawnPty, publish: c.publish, log: silentLog(), idleMs: 30 });
    await m.handle(open('t1'));
    await tick(100);
    assert.equal(f.made[0]!.killed, true);
    assert.equal(c.out.at(-1)?.o.error?.code, 'TIMEOUT');
  });

  it('keeps a terminal while its gateway sends keep-alives (empty input reaches no shell) and ends it when they stop', async () => {
    const c = collect();
    const f = fakePty();
    const m = createTerminalManager({ spawnPty: f.spawnPty, publish: c.publish, log: silentLog(), leaseMs: 150 });
    await m.handle(open('t1'));
    for (let i = 0; i < 8; i++) {
      await tick(50);
      await m.handle(msg('t1', { terminalInput: { data: new Uint8Array() } } as Partial<Decoded>));
    }
    assert.equal(f.made[0]!.killed, false, 'alive after 400 ms of keep-alives with a 150 ms lease');
    assert.deepEqual(f.made[0]!.written, [], 'keep-alives are not written to the shell');
    await tick(400);
    assert.equal(f.made[0]!.killed, true, 'no word from the viewer: the shell and its tree are killed');
    const last = c.out.at(-1)?.o;
    assert.equal(last?.closed, true);
    assert.equal(last?.error?.code, 'TIMEOUT');
    assert.match(last?.error?.message ?? '', /viewer/);
    assert.equal(m.open, 0);
  });

  it('answers input for an unknown terminal with NOT_FOUND', async () => {
    const c = collect();
    const m = createTerminalManager({ spawnPty: fakePty().spawnPty, publish: c.publish, log: silentLog() });
    await m.handle(msg('nope', { terminalInput: { data: Buffer.from('x') } } as Partial<Decoded>));
    assert.equal(c.out[0]?.o.error?.code, 'NOT_FOUND');
  });
});
