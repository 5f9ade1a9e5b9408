/** Pure parts of the Windows backend: SCM and Toolhelp layouts, versions, encodings, command lines. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { outputEncodingFor } from '../../agent/platform/windows/output-encoding.js';
import { PROCESSENTRY32W_SIZE, cpuPercent, decodeProcessEntry } from '../../agent/platform/windows/process-records.js';
import { ENUM_SERVICE_STATUS_PROCESSW_SIZE, decodeServiceArray, startupTypeName } from '../../agent/platform/windows/service-records.js';
import { buildCommandLine } from '../../agent/platform/windows/spawn.js';
import { decodeOsVersionInfo, formatWindowsVersion } from '../../agent/platform/windows/system-info.js';
import { guruconnect } from '../../proto/generated/guruconnect.js';

describe('service records', () => {
  test('ENUM_SERVICE_STATUS_PROCESSW array decoded field by field', () => {
    const buf = Buffer.alloc(2 * ENUM_SERVICE_STATUS_PROCESSW_SIZE);
    const strings = new Map<bigint, string>([
      [0x100n, 'Spooler'],
      [0x200n, 'Print Spooler'],
      [0x300n, 'wuauserv'],
      [0x400n, 'Windows Update'],
    ]);
    const row = (i: number, name: bigint, display: bigint, state: number, pid: number) => {
      const b = i * ENUM_SERVICE_STATUS_PROCESSW_SIZE;
      buf.writeBigUInt64LE(name, b);
      buf.writeBigUInt64LE(display, b + 8);
      buf.writeUInt32LE(0x10, b + 16); // SERVICE_WIN32_OWN_PROCESS
      buf.writeUInt32LE(state, b + 20);
      buf.writeUInt32LE(3000, b + 40); // wait hint: must not be taken for the pid
      buf.writeUInt32LE(pid, b + 44);
    };
    row(0, 0x100n, 0x200n, 4, 1234);
    row(1, 0x300n, 0x400n, 3, 0);
    const got = decodeServiceArray(buf, 2, (p) => strings.get(p) ?? assert.fail('bad pointer'));
    const S = guruconnect.ServiceStatus;
    assert.deepEqual(got, [
      { name: 'Spooler', displayName: 'Print Spooler', status: S.SERVICE_RUNNING, pid: 1234, startupType: '' },
      { name: 'wuauserv', displayName: 'Windows Update', status: S.SERVICE_PENDING, pid: 0, startupType: '' },
    ]);
    assert.deepEqual([0, 1, 2, 3, 4, 9].map(startupTypeName), ['Boot', 'System', 'Automatic', 'Manual', 'Disabled', 'Unknown (9)']);
  });
});

describe('process records', () => {
  test('PROCESSENTRY32W: pid, parent, threads, exe name', () => {
    const b = Buffer.alloc(PROCESSENTRY32W_SIZE);
    b.writeUInt32LE(PROCESSENTRY32W_SIZE, 0);
    b.writeUInt32LE(4321, 8);
    b.writeBigUInt64LE(0xdeadbeefn, 16); // th32DefaultHeapID
    b.writeUInt32LE(7, 28);
    b.writeUInt32LE(600, 32);
    b.write('node.exe', 44, 'utf16le');
    assert.deepEqual(decodeProcessEntry(b), { pid: 4321, parentPid: 600, threads: 7, exeFile: 'node.exe' });
  });

  test('CPU percent over all CPUs', () => {
    assert.equal(cpuPercent(0n, 5_000_000n, 1000, 1), 50); // 500 ms busy in 1 s on 1 CPU
    assert.equal(cpuPercent(0n, 5_000_000n, 1000, 2), 25);
    assert.equal(cpuPercent(10n, 5n, 1000, 2), 0);
  });
});

describe('system info', () => {
  test('RTL_OSVERSIONINFOW decoded and named', () => {
    const b = Buffer.alloc(276);
    b.writeUInt32LE(276, 0);
    b.writeUInt32LE(10, 4);
    b.writeUInt32LE(0, 8);
    b.writeUInt32LE(22631, 12);
    const v = decodeOsVersionInfo(b);
    assert.deepEqual(v, { major: 10, minor: 0, build: 22631, servicePack: '' });
    assert.equal(formatWindowsVersion(v), 'Windows 11 10.0.22631');
    assert.equal(formatWindowsVersion({ major: 6, minor: 1, build: 7601, servicePack: 'Service Pack 1' }), 'Windows 6.1.7601 Service Pack 1');
  });
});

describe('output encoding', () => {
  test('OEM pages map to TextDecoder labels, or to UTF-8 transcoding', () => {
    assert.deepEqual(outputEncodingFor(866), { label: 'ibm866', transcode: false });
    assert.deepEqual(outputEncodingFor(1252), { label: 'windows-1252', transcode: false });
    assert.deepEqual(outputEncodingFor(65001), { label: 'utf-8', transcode: false });
    assert.deepEqual(outputEncodingFor(437), { label: 'utf-8', transcode: true });
    assert.deepEqual(outputEncodingFor(850), { label: 'utf-8', transcode: true });
    for (const cp of [437, 850, 852, 866, 874, 932, 936, 949, 950, 1250, 1251, 1252, 1253, 1254, 1255, 1256, 1257, 1258, 20866, 21866, 54936, 65001]) {
      assert.doesNotThrow(() => new TextDecoder(outputEncodingFor(cp).label), `label for ${cp}`);
    }
    assert.equal(new TextDecoder(outputEncodingFor(866).label).decode(Uint8Array.from([0x8f, 0xe0, 0xa8])), 'При');
  });
});

describe('command lines', () => {
  const paths = { cmd: 'C:\\Windows\\System32\\cmd.exe', powershell: 'C:\\PS\\powershell.exe' };
  test('cmd gets the text as typed inside /s /c quotes', () => {
    const r = buildCommandLine(guruconnect.Shell.SHELL_CMD, 'dir "C:\\Program Files" & echo %PATH%', paths);
    assert.deepEqual(r, { ok: true, value: '"C:\\Windows\\System32\\cmd.exe" /d /s /c "dir "C:\\Program Files" & echo %PATH%"' });
    assert.equal(buildCommandLine(guruconnect.Shell.SHELL_DEFAULT, 'ver', paths).ok, true);
  });

  test('powershell gets the text base64 UTF-16LE encoded; sh is refused', () => {
    const r = buildCommandLine(guruconnect.Shell.SHELL_POWERSHELL, 'Get-Service "a b"', paths);
    assert.ok(r.ok);
    const b64 = r.value.split(' ').at(-1) ?? '';
    assert.equal(Buffer.from(b64, 'base64').toString('utf16le'), 'Get-Service "a b"');
    assert.match(r.value, /-NoProfile -NonInteractive/);
    const sh = buildCommandLine(guruconnect.Shell.SHELL_SH, 'ls', paths);
    assert.equal(sh.ok, false);
    if (!sh.ok) assert.equal(sh.error.code, 'NOT_AVAILABLE');
  });
});
