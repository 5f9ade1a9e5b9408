/**
 * The Windows service's log file (agent/install/service-log-file.ts; plain file I/O, so tested here):
 * whatever the agent logs for however long it runs, agent.log and its one old copy stay bounded.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createLogger } from '../../proto/log/logger.js';
import { SERVICE_LOG_FILE, serviceLogFile } from '../../agent/install/service-log-file.js';

const root = mkdtempSync(join(tmpdir(), 'gc-service-log-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => {
  const d = join(root, String(++n));
  mkdirSync(d);
  return d;
};

describe('service log file', () => {
  it('rotates while the service runs: a flood of lines (100k characters each, hostile text) never grows the files past the bound', () => {
    const dir = freshDir();
    const max = 256 * 1024;
    const log = createLogger({ name: 'agent', destination: serviceLogFile(dir, max) });
    const line = `x\n{"level":60}\ud800${'y'.repeat(100_000)}`;
    for (let i = 0; i < 100; i++) log.warn({ i }, line);
    const file = join(dir, SERVICE_LOG_FILE);
    const one = 100_200;
    assert.ok(statSync(file).size <= max + one, `agent.log ${statSync(file).size} bytes`);
    assert.ok(existsSync(`${file}.1`) && statSync(`${file}.1`).size <= max + one, 'one old file kept, bounded too');
    // Whole JSON lines in both files: a rotation never splits one.
    for (const f of [file, `${file}.1`]) for (const l of readFileSync(f, 'utf8').split('\n').slice(0, -1)) assert.equal(typeof JSON.parse(l).i, 'number');
  });

  it('a file already past the bound at start is moved aside first', () => {
    const dir = freshDir();
    const file = join(dir, SERVICE_LOG_FILE);
    writeFileSync(file, 'old\n'.repeat(1000));
    serviceLogFile(dir, 1000).write('new\n');
    assert.equal(readFileSync(file, 'utf8'), 'new\n');
    assert.equal(readFileSync(`${file}.1`, 'utf8').length, 4000);
  });
});
