import assert from 'node:assert/strict';
import { test } from 'node:test';
import { displayOfLogin } from '../../agent/platform/linux/sessions.js';
import { UTMP_RECORD_SIZE, UtType, parseUtmp } from '../../agent/platform/linux/utmp.js';
import { encodeUtmp } from '../support/utmp.js';

test('parses a hand-built 384-byte utmpx record at the glibc x86_64 offsets', () => {
  const b = Buffer.alloc(UTMP_RECORD_SIZE);
  b.writeInt16LE(7, 0); // USER_PROCESS
  b.writeInt32LE(4242, 4);
  b.write('pts/3', 8);
  b.write('ts/3', 40);
  b.write('gc-alice', 44);
  b.write('203.0.113.9', 76);
  b.writeInt32LE(1_700_000_000, 340);
  b.writeInt32LE(250_000, 344);
  const [r, ...rest] = parseUtmp(b);
  assert.equal(rest.length, 0);
  assert.deepEqual(r, { type: UtType.USER_PROCESS, pid: 4242, line: 'pts/3', id: 'ts/3', user: 'gc-alice', host: '203.0.113.9', timeMs: 1_700_000_000_250 });
});

test('full-width fields without NUL terminator and a trailing partial record', () => {
  const user = 'u'.repeat(32);
  const buf = Buffer.concat([encodeUtmp({ user, line: ':0', pid: 1 }), encodeUtmp({ type: UtType.DEAD_PROCESS, line: 'tty1' }), Buffer.alloc(100)]);
  const recs = parseUtmp(buf);
  assert.equal(recs.length, 2);
  assert.equal(recs[0]?.user, user);
  assert.equal(recs[0]?.line, ':0');
  assert.equal(recs[1]?.type, UtType.DEAD_PROCESS);
});

test('a login belongs to display n when its line or host is ":n" (screen suffix allowed)', () => {
  assert.equal(displayOfLogin({ line: ':0', host: '' }), 0);
  assert.equal(displayOfLogin({ line: 'pts/1', host: ':12.0' }), 12);
  assert.equal(displayOfLogin({ line: 'pts/1', host: '10.0.0.1' }), undefined);
  assert.equal(displayOfLogin({ line: 'tty1', host: '' }), undefined);
});
