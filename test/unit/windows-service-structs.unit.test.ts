/** The Windows service structures, built for x64 (issue 15); pure, no DLL is loaded. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ServiceControl, ServiceState, buildServiceStatus, buildServiceTable, handleControl } from '../../agent/platform/windows/service-dispatcher.js';
import { PRIVATE_DIR_SDDL, buildFailureActions } from '../../agent/platform/windows/service-install.js';

const dwords = (b: Buffer) => Array.from({ length: b.length / 4 }, (_, i) => b.readUInt32LE(i * 4));

describe('SERVICE_STATUS', () => {
  it('running accepts STOP, SHUTDOWN and SESSIONCHANGE; pending states carry checkpoint and wait hint', () => {
    assert.deepEqual(dwords(buildServiceStatus(ServiceState.RUNNING)), [0x10, 4, 0x1 | 0x4 | 0x80, 0, 0, 0, 0]);
    assert.deepEqual(dwords(buildServiceStatus(ServiceState.START_PENDING, { checkpoint: 1, waitHintMs: 30_000 })), [0x10, 2, 0, 0, 0, 1, 30_000]);
    assert.deepEqual(dwords(buildServiceStatus(ServiceState.STOP_PENDING, { checkpoint: 7, waitHintMs: 15_000 })), [0x10, 3, 0, 0, 0, 7, 15_000]);
  });

  it('a failed start is STOPPED with ERROR_SERVICE_SPECIFIC_ERROR (1066) and the specific code', () => {
    assert.deepEqual(dwords(buildServiceStatus(ServiceState.STOPPED, { specificExitCode: 1 })), [0x10, 1, 0, 1066, 1, 0, 0]);
    assert.deepEqual(dwords(buildServiceStatus(ServiceState.STOPPED)), [0x10, 1, 0, 0, 0, 0, 0]);
  });
});

describe('SERVICE_TABLE_ENTRYW[2] and SERVICE_FAILURE_ACTIONSW', () => {
  it('the table is one entry and a NULL terminator', () => {
    const t = buildServiceTable(0x1122334455n, 0x66778899aabbn);
    assert.equal(t.length, 32);
    assert.deepEqual([t.readBigUInt64LE(0), t.readBigUInt64LE(8), t.readBigUInt64LE(16), t.readBigUInt64LE(24)], [0x1122334455n, 0x66778899aabbn, 0n, 0n]);
  });

  it('failure actions: reset period, no reboot message or command, three restarts', () => {
    const { info, keep } = buildFailureActions(86_400, [5_000, 10_000, 30_000]);
    assert.equal(info.length, 40);
    assert.equal(info.readUInt32LE(0), 86_400);
    assert.deepEqual([info.readBigUInt64LE(8), info.readBigUInt64LE(16)], [0n, 0n]);
    assert.equal(info.readUInt32LE(24), 3);
    assert.notEqual(info.readBigUInt64LE(32), 0n);
    assert.deepEqual(dwords(keep[0]!), [1, 5_000, 1, 10_000, 1, 30_000]);
  });

  it('the private directory DACL is protected and names only SYSTEM and Administrators', () => {
    assert.match(PRIVATE_DIR_SDDL, /^D:P/);
    assert.deepEqual(PRIVATE_DIR_SDDL.match(/;;;(\w+)\)/g), [';;;SY)', ';;;BA)']);
  });
});

describe('HandlerEx', () => {
  const run = (control: number, throwing = false) => {
    const seen: string[] = [];
    const code = handleControl(control, {
      stop: (r) => {
        if (throwing) throw new Error('boom');
        seen.push(`stop ${r}`);
      },
      sessionChanged: () => {
        if (throwing) throw new Error('boom');
        seen.push('relist');
      },
      log: (m) => seen.push(`log ${m}`),
    });
    return { code, seen };
  };

  it('STOP and SHUTDOWN run the graceful stop, SESSIONCHANGE re-lists sessions, INTERROGATE is acknowledged', () => {
    assert.deepEqual(run(ServiceControl.STOP), { code: 0, seen: ['stop SERVICE_CONTROL_STOP'] });
    assert.deepEqual(run(ServiceControl.SHUTDOWN), { code: 0, seen: ['stop SERVICE_CONTROL_SHUTDOWN'] });
    assert.deepEqual(run(ServiceControl.SESSIONCHANGE), { code: 0, seen: ['relist'] });
    assert.deepEqual(run(ServiceControl.INTERROGATE), { code: 0, seen: [] });
  });

  it('other controls (PAUSE, 0, 2^32-1) are not implemented; a throwing body is logged, never thrown into advapi32', () => {
    for (const c of [2, 0, 0xffffffff, -1]) assert.deepEqual(run(c), { code: 120, seen: [] });
    assert.deepEqual(run(ServiceControl.STOP, true), { code: 120, seen: ['log service control 1: boom'] });
    assert.deepEqual(run(ServiceControl.SESSIONCHANGE, true), { code: 120, seen: ['log service control 14: boom'] });
  });
});
