/** The agent's log lines: JSON from the processes' one factory, the agent id on every line, the level from GC_LOG_LEVEL. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { loadAgentConfig } from '../../agent/config.js';
import { createAgentLogger } from '../../agent/log.js';
import { withCorrelation } from '../../proto/log/logger.js';

const base = { GC_AGENT_ID: 'pc-7', GC_AGENT_STATE_DIR: '/tmp/gc-agent-log-test' };

/** The lines an agent logger configured by `env` writes, parsed. */
function agentLines(env: NodeJS.ProcessEnv, write: (log: ReturnType<typeof createAgentLogger>) => void): Record<string, unknown>[] {
  const raw: string[] = [];
  const log = createAgentLogger(loadAgentConfig({ ...base, ...env }), { write: (l: string) => void raw.push(l) });
  write(log);
  return raw.map((l) => {
    assert.ok(l.endsWith('\n') && !l.slice(0, -1).includes('\n'), 'one line per entry');
    return JSON.parse(l) as Record<string, unknown>;
  });
}

describe('agent log', () => {
  it('writes JSON lines with the process and the agent id on every line, the correlation id where bound', () => {
    const lines = agentLines({}, (log) => {
      log.info('online');
      withCorrelation(log, 'cmd-1', { command: 'backstageCommand' }).warn({ error_code: 'TIMEOUT' }, 'x\ud800\0');
      withCorrelation(log, 'v'.repeat(100_000)).info('viewer stream stopped');
    });
    assert.equal(lines.length, 3);
    for (const l of lines) {
      assert.equal(l.agent_id, 'pc-7');
      assert.equal(l.process, 'agent');
      assert.equal(typeof l.time, 'string');
      assert.ok(Number.isFinite(Date.parse(l.time as string)), String(l.time));
    }
    assert.equal(lines[0]!.correlation_id, undefined);
    assert.deepEqual([lines[1]!.correlation_id, lines[1]!.command, lines[1]!.error_code, lines[1]!.msg], ['cmd-1', 'backstageCommand', 'TIMEOUT', 'x\ud800\0']);
    assert.equal((lines[2]!.correlation_id as string).length, 100_000);
  });

  it('takes its level from GC_LOG_LEVEL (info by default) and refuses a level that does not exist', () => {
    const levels = (env: NodeJS.ProcessEnv) =>
      agentLines(env, (log) => {
        log.debug('d');
        log.info('i');
        log.warn('w');
      }).map((l) => l.msg);
    assert.deepEqual(levels({}), ['i', 'w']);
    assert.deepEqual(levels({ GC_LOG_LEVEL: 'debug' }), ['d', 'i', 'w']);
    assert.deepEqual(levels({ GC_LOG_LEVEL: 'warn' }), ['w']);
    assert.deepEqual(levels({ GC_LOG_LEVEL: 'silent' }), []);
    for (const bad of ['loud', 'INFO', 'x\ud800', '\0', 'a'.repeat(100_000), '-1']) {
      assert.throws(() => loadAgentConfig({ ...base, GC_LOG_LEVEL: bad }), /invalid agent configuration: logLevel/, bad.slice(0, 20));
    }
  });

  it('a hostile string (a command id, a user name, an error text) cannot forge a line, in the file as written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gc-agent-log-'));
    try {
      const file = join(dir, 'agent.log');
      const forged = '{"level":60,"agent_id":"other","msg":"forged"}';
      const evil = [
        `x\n${forged}`,
        `x\r\n${forged}`,
        `x\u2028${forged}`,
        `x\u0085${forged}`,
        'short\ud800',
        `${'l'.repeat(60)}\udc00`,
        '\u001b[2J\u009b31m\u202e',
        '\0',
        `"},"level":60,"agent_id":"other","x":{"`,
        'z'.repeat(100_000),
      ];
      const dest = pino.destination({ dest: file, sync: true });
      const log = createAgentLogger(loadAgentConfig(base), dest);
      for (const e of evil) {
        log.info(e);
        withCorrelation(log, e, { command: e }).warn({ run_as: e, error_code: 'TIMEOUT' }, e);
        log.error({ err: new Error(e) }, 'handler failed');
      }
      dest.flushSync();
      const text = readFileSync(file, 'utf8');
      const lines = text.split('\n').slice(0, -1);
      assert.equal(lines.length, evil.length * 3, 'one line per entry');
      for (const [i, l] of lines.entries()) {
        const o = JSON.parse(l) as Record<string, unknown>;
        assert.equal(o.agent_id, 'pc-7', `line ${i}: the agent id is ours`);
        assert.equal(o.level, [30, 40, 50][i % 3], `line ${i}: the level is the one logged`);
      }
      // Readers that also break lines at CR, NEL, U+2028/9 (Python's splitlines) find no forged entry either.
      const fragments = text.split(/\r\n|\r|\n|\u0085|\u2028|\u2029/).filter(Boolean);
      for (const f of fragments) {
        let o: unknown;
        try {
          o = JSON.parse(f);
        } catch {
          continue;
        }
        assert.equal((o as { agent_id?: unknown }).agent_id, 'pc-7', `a fragment parsed as an entry of another agent: ${f.slice(0, 80)}`);
      }
      // Every string comes back as logged (a lone surrogate as U+FFFD: the file is UTF-8).
      const msgs = lines.filter((_, i) => i % 3 === 0).map((l) => (JSON.parse(l) as { msg: string }).msg);
      assert.deepEqual(
        msgs,
        evil.map((e) => (e as string & { toWellFormed(): string }).toWellFormed()),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
