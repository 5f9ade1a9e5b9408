/** WTS buffer decoding on hand-built buffers laid out like Windows x64 (no DLL, runs on Linux). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  WTS_SESSION_INFOW_SIZE,
  WtsConnectState,
  decodeClientAddress,
  decodeSessionInfoArray,
  decodeSessionInfoEx,
  fileTimeToMs,
  isCapturable,
  isLocked,
  mapConnectState,
  sessionTypeOf,
} from '../../agent/platform/windows/wts.js';
import { guruconnect } from '../../proto/generated/guruconnect.js';

const { SESSION_ACTIVE, SESSION_DISCONNECTED, SESSION_IDLE } = guruconnect.SessionState;
const { SESSION_CONSOLE, SESSION_RDP } = guruconnect.WindowsSessionType;

/** A WTS_SESSION_INFOW array plus a fake address space for the station-name pointers. */
function sessionArray(rows: [id: number, station: string, state: number][]) {
  const buf = Buffer.alloc(rows.length * WTS_SESSION_INFOW_SIZE, 0xcc); // 0xcc: padding must be ignored
  const names = new Map<bigint, string>();
  rows.forEach(([id, station, state], i) => {
    const base = i * WTS_SESSION_INFOW_SIZE;
    const ptr = 0x7ff0_0000_1000n + BigInt(i) * 0x100n;
    names.set(ptr, station);
    buf.writeUInt32LE(id, base);
    buf.writeBigUInt64LE(ptr, base + 8);
    buf.writeUInt32LE(state, base + 16);
  });
  const read = (p: bigint) => names.get(p) ?? assert.fail(`read of unknown pointer ${p.toString(16)}`);
  return { buf, read };
}

describe('decodeSessionInfoArray', () => {
  test('several sessions: Session 0 and listeners dropped, RDP vs console, states mapped', () => {
    const { buf, read } = sessionArray([
      [0, 'Services', WtsConnectState.Disconnected],
      [1, 'Console', WtsConnectState.Active],
      [2, 'RDP-Tcp#7', WtsConnectState.Active],
      [3, '', WtsConnectState.Disconnected],
      [4, 'RDP-Tcp#9', WtsConnectState.Idle],
      [65536, 'RDP-Tcp', WtsConnectState.Listen],
    ]);
    const got = decodeSessionInfoArray(buf, 6, read);
    assert.deepEqual(
      got.map((s) => [s.sessionId, s.stationName, s.type, s.state]),
      [
        [1, 'Console', SESSION_CONSOLE, SESSION_ACTIVE],
        [2, 'RDP-Tcp#7', SESSION_RDP, SESSION_ACTIVE],
        [3, '', SESSION_CONSOLE, SESSION_DISCONNECTED],
        [4, 'RDP-Tcp#9', SESSION_RDP, SESSION_IDLE],
      ],
    );
  });

  test('count beyond the buffer stops at the buffer end; zero count gives nothing', () => {
    const { buf, read } = sessionArray([[5, 'Console', WtsConnectState.Active]]);
    assert.equal(decodeSessionInfoArray(buf, 3, read).length, 1);
    assert.deepEqual(decodeSessionInfoArray(Buffer.alloc(0), 0, read), []);
  });

  test('every WTS_CONNECTSTATE_CLASS value has a decision', () => {
    assert.equal(mapConnectState(WtsConnectState.Shadow), SESSION_ACTIVE);
    assert.equal(mapConnectState(WtsConnectState.Connected), SESSION_IDLE);
    assert.equal(mapConnectState(WtsConnectState.ConnectQuery), SESSION_IDLE);
    for (const s of [WtsConnectState.Listen, WtsConnectState.Reset, WtsConnectState.Down, WtsConnectState.Init, 42]) {
      assert.equal(mapConnectState(s), undefined);
    }
    assert.equal(sessionTypeOf('rdp-tcp#0'), SESSION_RDP);
    assert.equal(sessionTypeOf('Console'), SESSION_CONSOLE);
  });
});

describe('WTSINFOEXW and friends', () => {
  test('level-1 record: user, domain, logon time, idle seconds, lock flag', () => {
    const b = Buffer.alloc(232);
    b.writeUInt32LE(1, 0);
    b.writeUInt32LE(2, 8);
    b.writeInt32LE(0, 16); // WTS_SESSIONSTATE_LOCK
    b.write('alice', 86, 'utf16le');
    b.write('CORP', 128, 'utf16le');
    const logon = 133_500_000_000_000_000n; // FILETIME
    b.writeBigInt64LE(logon, 168);
    b.writeBigInt64LE(logon + 1_000_000_000n, 192); // last input
    b.writeBigInt64LE(logon + 1_000_000_000n + 45n * 10_000_000n, 200); // now: 45 s later
    const ex = decodeSessionInfoEx(b);
    assert.ok(ex);
    assert.equal(ex.userName, 'alice');
    assert.equal(ex.domain, 'CORP');
    assert.equal(ex.idleSecs, 45);
    assert.equal(ex.logonTimeMs, fileTimeToMs(logon));
    assert.equal(new Date(ex.logonTimeMs).getUTCFullYear(), 2024);
    assert.equal(isLocked(ex.sessionFlags, false), true);
    assert.equal(isLocked(ex.sessionFlags, true), false, 'Windows 7 swaps the flag values');
    assert.equal(isLocked(-1, false), false, 'unknown is not locked');
    b.writeUInt32LE(2, 0);
    assert.equal(decodeSessionInfoEx(b), undefined, 'other levels are not guessed at');
  });

  test('client address: IPv4 and IPv6 families', () => {
    const v4 = Buffer.alloc(24);
    v4.writeUInt32LE(2, 0);
    v4.set([10, 0, 0, 42], 6);
    assert.equal(decodeClientAddress(v4), '10.0.0.42');
    const v6 = Buffer.alloc(24);
    v6.writeUInt32LE(23, 0);
    v6.writeUInt16BE(0xfe80, 6);
    v6.writeUInt16BE(0x1, 20);
    assert.equal(decodeClientAddress(v6), 'fe80:0:0:0:0:0:0:1');
    assert.equal(decodeClientAddress(Buffer.alloc(24)), '');
  });
});

describe('isCapturable', () => {
  const alice = { sessionId: 2, userName: 'alice', state: SESSION_ACTIVE };
  test('its own session an agent shows itself; another needs an elevated agent (a helper started into it)', () => {
    assert.equal(isCapturable(alice, 2, false), true);
    assert.equal(isCapturable(alice, 0, true), true);
    assert.equal(isCapturable(alice, 1, false), false);
  });
  test('no user (logon screen) or a disconnected session has no desktop to show', () => {
    assert.equal(isCapturable({ ...alice, userName: '' }, 0, true), false);
    assert.equal(isCapturable({ ...alice, state: SESSION_DISCONNECTED }, 0, true), false);
    assert.equal(isCapturable({ ...alice, state: SESSION_IDLE }, 0, true), true, 'idle users are still on screen');
  });
});
