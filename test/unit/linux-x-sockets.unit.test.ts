/** Finding an X server by the listening socket it holds (servers started with -displayfd). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseListeningXSockets, parseXLockPid, xServerOf } from '../../agent/platform/linux/x-servers.js';

const procNetUnix = `Num       RefCount Protocol Flags    Type St Inode Path
0000000000000000: 00000002 00000000 00010000 0001 01 41001 /tmp/.X11-unix/X0
0000000000000000: 00000002 00000000 00010000 0001 01 41002 @/tmp/.X11-unix/X0
0000000000000000: 00000003 00000000 00000000 0001 03 41003 /tmp/.X11-unix/X0
0000000000000000: 00000002 00000000 00010000 0001 01 41004 /tmp/.X11-unix/X12
0000000000000000: 00000002 00000000 00010000 0001 01 41005 /run/dbus/system_bus_socket
`;

describe('X servers', () => {
  it('maps listening X11 sockets (path and abstract) to their display, ignoring connections', () => {
    assert.deepEqual(
      [...parseListeningXSockets(procNetUnix)],
      [
        [41001, 0],
        [41002, 0],
        [41004, 12],
      ],
    );
    assert.equal(parseListeningXSockets('').size, 0);
  });

  it('reads the display from argv when the server names it, not when it used -displayfd', () => {
    assert.deepEqual(xServerOf(['/usr/lib/xorg/Xorg', ':1', '-nolisten', 'tcp']), { display: 1, remote: false });
    assert.deepEqual(xServerOf(['Xvnc', ':7', '-geometry', '1024x768']), { display: 7, remote: true });
    assert.equal(xServerOf(['/usr/lib/xorg/Xorg', '-displayfd', '3', 'vt2']), undefined);
    assert.equal(xServerOf(['/usr/bin/bash', ':1']), undefined);
  });
});

describe('X lock files', () => {
  it('reads the pid an X server writes, and nothing else', () => {
    assert.equal(parseXLockPid('      4242\n'), 4242);
    assert.equal(parseXLockPid('1'), 1);
    assert.equal(parseXLockPid(String(2 ** 31 - 1)), 2 ** 31 - 1);
    for (const bad of ['', '\n', '0', '-1', String(2 ** 31), String(2 ** 32 - 1), '9223372036854775807', '12 34', '12\u0000', '\ud800', 'x'.repeat(100_000), '0x10', '1e3', ' 42x']) {
      assert.equal(parseXLockPid(bad), undefined, JSON.stringify(bad.slice(0, 20)));
    }
  });
});
