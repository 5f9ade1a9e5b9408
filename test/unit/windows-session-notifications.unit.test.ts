/** Pure parts of the Windows session notifications: the message decoding and the WNDCLASSEXW layout. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SessionChangeReason, WM_WTSSESSION_CHANGE, WNDCLASSEXW_SIZE, buildWndClass, sessionChangeOf } from '../../agent/platform/windows/session-notifications.js';

describe('session change messages', () => {
  test('WM_WTSSESSION_CHANGE gives the reason (wParam) and session id (lParam)', () => {
    assert.equal(WM_WTSSESSION_CHANGE, 0x02b1);
    assert.deepEqual(sessionChangeOf(0x02b1, SessionChangeReason.Lock, 3), { reason: 7, sessionId: 3 });
    assert.deepEqual(sessionChangeOf(0x02b1, 5n, 2n), { reason: SessionChangeReason.Logon, sessionId: 2 });
  });

  test('lParam is a DWORD session id even when the LPARAM arrives sign-extended', () => {
    assert.deepEqual(sessionChangeOf(0x02b1, 6, -1), { reason: SessionChangeReason.Logoff, sessionId: 0xffffffff });
    assert.deepEqual(sessionChangeOf(0x02b1, 8, 0x1_0000_0004n), { reason: SessionChangeReason.Unlock, sessionId: 4 });
  });

  test('any other message is not a session change', () => {
    assert.equal(sessionChangeOf(0x0400, 7, 1), undefined);
    assert.equal(sessionChangeOf(0x0001 /* WM_CREATE */, 0, 0), undefined);
  });
});

describe('WNDCLASSEXW', () => {
  test('x64 layout: cbSize, lpfnWndProc @8, hInstance @24, lpszClassName @64, the rest zero', () => {
    const b = buildWndClass(0x1122334455667788n, 0x140000000n, 0xdeadbeef00n);
    assert.equal(b.length, WNDCLASSEXW_SIZE);
    assert.equal(b.readUInt32LE(0), 80);
    assert.equal(b.readUInt32LE(4), 0, 'style');
    assert.equal(b.readBigUInt64LE(8), 0x1122334455667788n);
    assert.equal(b.readBigUInt64LE(24), 0x140000000n);
    assert.equal(b.readBigUInt64LE(64), 0xdeadbeef00n);
    assert.equal(b.readUInt32LE(16), 0, 'cbClsExtra');
    assert.equal(b.readUInt32LE(20), 0, 'cbWndExtra');
    for (const off of [32, 40, 48, 56, 72]) assert.equal(b.readBigUInt64LE(off), 0n, `pointer at ${off} (icon, cursor, brush, menu, small icon)`);
  });
});
