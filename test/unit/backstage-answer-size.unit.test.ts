/**
 * A backstage answer always fits one bus message (proto/codec.ts MAX_MESSAGE_BYTES, which
 * nats-server refuses to exceed: test/int/nats-max-payload.int.test.ts). Any local user can start
 * hundreds of processes with 4 KB command lines; before, such a list was published, refused, and the
 * technician got a TIMEOUT every time. The platform is a fake: this is the handler's logic.
 */
import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { PROCESS_LIST_BUDGET_BYTES, fitProcessList } from '../../agent/backstage/fit-process-list.js';
import type { BackstageRunner } from '../../agent/backstage/runner.js';
import type { PlatformPort, ProcessInfo } from '../../agent/platform/port.js';
import { createBackstageHandler } from '../../agent/runtime/backstage-handler.js';
import { checkFitsOneMessage } from '../../agent/runtime/publisher.js';
import { type Decoded, MAX_MESSAGE_BYTES, decode, encode, message, pb } from '../../proto/codec.js';
import { ErrorCode, ok } from '../../proto/errors.js';
import { logLines } from '../support/log-lines.js';

const proc = (pid: number, commandLine: string): ProcessInfo => ({ pid, name: 'java', user: 'eve', memoryKb: 2 ** 32 - 1, parentPid: 1, sessionId: 0, cpuPercent: -1, commandLine });

/** The handler over a platform whose lists are `lists`; resolves with the final answer as the gateway decodes it, and its size. */
async function answerTo(commandType: number, lists: Partial<PlatformPort>) {
  let sent: Uint8Array | undefined;
  const handler = createBackstageHandler({
    platform: lists as PlatformPort,
    runner: {} as BackstageRunner,
    publisher: {
      async event(_kind, payload, correlationId) {
        // The real publisher's own check (publisher.ts): the fake refuses what it would refuse.
        const data = encode(message(payload, { agentId: 'a'.repeat(64), correlationId }));
        checkFitsOneMessage(data);
        sent = data;
        return 1;
      },
      frame() {},
    },
    agentVersion: 'test',
  });
  const cmd = decode(encode(message({ backstageCommand: { commandType } }, { agentId: 'a'.repeat(64), id: crypto.randomUUID() })));
  assert.ok(cmd.ok);
  const { log, lines } = logLines();
  await handler(cmd.value as Decoded, log);
  assert.ok(sent, 'an answer was published');
  const back = decode(sent);
  assert.ok(back.ok, 'the answer decodes (the gateway refuses more than MAX_MESSAGE_BYTES)');
  return { bytes: sent.byteLength, out: back.value.backstageOutput!, lines };
}

describe('backstage answers fit one message', () => {
  it('300 processes with 4 KB command lines: the list comes with shortened command lines, every process in it', async () => {
    const ps = Array.from({ length: 300 }, (_, i) => proc(1000 + i, `java -cp ${'x'.repeat(4080)} \ud83d\ude00 end`));
    const { bytes, out, lines } = await answerTo(pb.BackstageCommandType.BACKSTAGE_LIST_PROCESSES, { listProcesses: async () => ok(ps) });
    assert.ok(bytes <= MAX_MESSAGE_BYTES, `${bytes} bytes`);
    assert.equal(out.error, null);
    assert.equal(out.processList?.processes?.length, 300);
    assert.equal(out.processList?.omitted, 0);
    assert.equal(out.processList?.commandLinesCut, true);
    const line = out.processList?.processes?.[0]?.commandLine ?? '';
    assert.ok(line.startsWith('java -cp xxx') && line.endsWith('…') && line.length <= 1024, line.slice(-20));
    assert.ok(lines.some((l) => /shortened to fit one message/.test(l.msg ?? '')));
  });

  it('50,000 processes: as many as fit are listed, in order, and the answer says how many were left out', async () => {
    const ps = Array.from({ length: 50_000 }, (_, i) => proc(i + 1, 'sleep 600'));
    const { bytes, out } = await answerTo(pb.BackstageCommandType.BACKSTAGE_LIST_PROCESSES, { listProcesses: async () => ok(ps) });
    assert.ok(bytes <= MAX_MESSAGE_BYTES, `${bytes} bytes`);
    const listed = out.processList?.processes ?? [];
    assert.ok(listed.length > 10_000 && listed.length < 50_000, String(listed.length));
    assert.equal(listed.length + (out.processList?.omitted ?? 0), 50_000);
    assert.deepEqual(
      listed.slice(0, 3).map((p) => p.pid),
      [1, 2, 3],
    );
  });

  it('a list that fits is passed unchanged, and says nothing was left out', async () => {
    const ps = [proc(1, 'init'), proc(2, 'x'.repeat(4095)), proc(3, 'nul\0 and \ud800')];
    const f = fitProcessList(ps);
    assert.deepEqual(f, { processes: ps, omitted: 0, commandLinesCut: false });
    const { out } = await answerTo(pb.BackstageCommandType.BACKSTAGE_LIST_PROCESSES, { listProcesses: async () => ok(ps) });
    assert.equal(out.processList?.processes?.length, 3);
    assert.equal(out.processList?.omitted, 0);
    assert.equal(out.processList?.commandLinesCut, false);
  });

  it('never cuts inside a surrogate pair', () => {
    for (let pad = 0; pad < 4; pad++) {
      const ps = Array.from({ length: 400 }, (_, i) => proc(i, `${'y'.repeat(1022 - pad)}${'😀'.repeat(2000)}`));
      const f = fitProcessList(ps);
      for (const p of f.processes) assert.equal(p.commandLine, (p.commandLine as string & { toWellFormed(): string }).toWellFormed(), `pad ${pad}`);
    }
    assert.ok(PROCESS_LIST_BUDGET_BYTES < MAX_MESSAGE_BYTES);
  });

  it('any other answer too large for a message becomes PAYLOAD_TOO_LARGE, not a silent TIMEOUT', async () => {
    const services = Array.from({ length: 3000 }, (_, i) => ({ name: `svc-${i}`, displayName: 'd'.repeat(400), description: 'z'.repeat(400) }));
    const { bytes, out } = await answerTo(pb.BackstageCommandType.BACKSTAGE_LIST_SERVICES, { listServices: async () => ok({ services, available: true }) });
    assert.ok(bytes <= MAX_MESSAGE_BYTES, `${bytes} bytes`);
    assert.equal(out.final, true);
    assert.equal(out.error?.code, ErrorCode.PAYLOAD_TOO_LARGE);
    assert.match(out.error?.message ?? '', /larger than one message/);
  });
});

test('the quick bound never lets through a list that does not fit: every field at its largest', () => {
  // Numbers at their widest encodings, text of 3-byte characters: the bound must still hold.
  const wide = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      pid: 2 ** 32 - 1,
      name: '€'.repeat(15),
      user: '€'.repeat(32),
      memoryKb: 2 ** 53 - 1,
      parentPid: 2 ** 32 - 1,
      sessionId: 2 ** 32 - 1,
      cpuPercent: -1,
      commandLine: `${i}${'€'.repeat(200)}`,
    }));
  for (const n of [10, 100, 1000, 1200, 1300, 5000]) {
    const f = fitProcessList(wide(n));
    const bytes = encode(message({ backstageOutput: { final: true, processList: { processes: f.processes, omitted: f.omitted, commandLinesCut: f.commandLinesCut } } })).byteLength;
    assert.ok(bytes <= MAX_MESSAGE_BYTES, `${n} rows: ${bytes} bytes`);
    assert.equal(f.processes.length + f.omitted, n);
  }
});
