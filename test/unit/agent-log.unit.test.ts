/** The agent's log lines: JSON from the processes' one factory, the agent id on every line, the level from GC_LOG_LEVEL. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
});
