/**
 * Registering the agent's service with the SCM (CreateServiceW as LocalSystem, automatic start,
 * restart-on-failure actions through ChangeServiceConfig2W), starting, stopping and deleting it, and
 * protecting a directory with an explicit DACL (SYSTEM and Administrators only).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { addressOfBuffer, isBadHandle, serviceApi } from './service-api.js';
import { wide } from './utf16.js';

const SC_MANAGER_ALL_ACCESS = 0xf003f;
const SERVICE_ALL_ACCESS = 0xf01ff;
const SERVICE_WIN32_OWN_PROCESS = 0x10;
const SERVICE_AUTO_START = 2;
const SERVICE_ERROR_NORMAL = 1;
const SERVICE_CONFIG_DESCRIPTION = 1;
const SERVICE_CONFIG_FAILURE_ACTIONS = 2;
const SERVICE_CONFIG_FAILURE_ACTIONS_FLAG = 4;
const SC_ACTION_RESTART = 1;
const SERVICE_CONTROL_STOP = 1;
const SC_STATUS_PROCESS_INFO = 0;
export const ERROR_SERVICE_DOES_NOT_EXIST = 1060;
export const ERROR_SERVICE_EXISTS = 1073;
const ERROR_SERVICE_NOT_ACTIVE = 1062;
const DACL_SECURITY_INFORMATION = 0x4;
const PROTECTED_DACL_SECURITY_INFORMATION = 0x80000000;
/** Protected (no inherited entries), full control to SYSTEM and Administrators, inherited by files and folders. */
export const PRIVATE_DIR_SDDL = 'D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)';

export type WinResult<T> = { ok: true; value: T } | { ok: false; code: number; message: string };

const fail = (api: string): { ok: false; code: number; message: string } => {
  const code = serviceApi().GetLastError() as number;
  return { ok: false, code, message: `${api} failed (Win32 error ${code})` };
};

function withScm<T>(fn: (scm: bigint) => WinResult<T>): WinResult<T> {
  const api = serviceApi();
  const scm = api.OpenSCManagerW(null, null, SC_MANAGER_ALL_ACCESS) as bigint;
  if (isBadHandle(scm)) return fail('OpenSCManagerW');
  try {
    return fn(scm);
  } finally {
    api.CloseServiceHandle(scm);
  }
}

function withService<T>(name: string, fn: (svc: bigint) => WinResult<T>): WinResult<T> {
  return withScm((scm) => {
    const api = serviceApi();
    const svc = api.OpenServiceW(scm, wide(name), SERVICE_ALL_ACCESS) as bigint;
    if (isBadHandle(svc)) return fail('OpenServiceW');
    try {
      return fn(svc);
    } finally {
      api.CloseServiceHandle(svc);
    }
  });
}

/** SERVICE_FAILURE_ACTIONSW (x64, 40 bytes) pointing at `actions` SC_ACTION {type, delay ms} pairs. */
export function buildFailureActions(resetSecs: number, delaysMs: readonly number[]): { info: Buffer; keep: Buffer[] } {
  const acts = Buffer.alloc(8 * delaysMs.length);
  delaysMs.forEach((d, i) => {
    acts.writeUInt32LE(SC_ACTION_RESTART, i * 8);
    acts.writeUInt32LE(d, i * 8 + 4);
  });
  const info = Buffer.alloc(40);
  info.writeUInt32LE(resetSecs, 0);
  // lpRebootMsg @8 and lpCommand @16 stay NULL; cActions @24; lpsaActions @32.
  info.writeUInt32LE(delaysMs.length, 24);
  info.writeBigUInt64LE(addressOfBuffer(acts), 32);
  return { info, keep: [acts] };
}

/**
 * Creates the service: LocalSystem, automatic start, restart 5 s / 10 s / 30 s after failures (counter
 * reset after a day). Resolves to warnings (settings Windows refused that the service can do without).
 * A service whose restart actions cannot be set is deleted again: it would not come back after a crash.
 */
export function createAgentService(name: string, displayName: string, commandLine: string, description: string): WinResult<string[]> {
  return withScm((scm) => {
    const api = serviceApi();
    const svc = api.CreateServiceW(
      scm,
      wide(name),
      wide(displayName),
      SERVICE_ALL_ACCESS,
      SERVICE_WIN32_OWN_PROCESS,
      SERVICE_AUTO_START,
      SERVICE_ERROR_NORMAL,
      wide(commandLine),
      null,
      null,
      null,
      null,
      null,
    ) as bigint;
    if (isBadHandle(svc)) return fail('CreateServiceW');
    const warnings: string[] = [];
    try {
      const descText = wide(description);
      const desc = Buffer.alloc(8);
      desc.writeBigUInt64LE(addressOfBuffer(descText), 0);
      if (!api.ChangeServiceConfig2W(svc, SERVICE_CONFIG_DESCRIPTION, desc)) warnings.push(fail('ChangeServiceConfig2W(DESCRIPTION)').message);
      const fa = buildFailureActions(86_400, [5_000, 10_000, 30_000]);
      if (!api.ChangeServiceConfig2W(svc, SERVICE_CONFIG_FAILURE_ACTIONS, fa.info)) {
        const f = fail('ChangeServiceConfig2W(FAILURE_ACTIONS)');
        api.DeleteService(svc);
        return f;
      }
      // Also restart when the agent stops itself with an error, not only when the process dies
      // (Windows Vista and later; Wine 8 answers ERROR_INVALID_LEVEL).
      const flag = Buffer.alloc(4);
      flag.writeUInt32LE(1, 0);
      if (!api.ChangeServiceConfig2W(svc, SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, flag)) warnings.push(fail('ChangeServiceConfig2W(FAILURE_ACTIONS_FLAG)').message);
      void fa.keep;
      return { ok: true, value: warnings };
    } finally {
      api.CloseServiceHandle(svc);
    }
  });
}

/** dwCurrentState of the service (1 stopped … 4 running), or the error (1060: not installed). */
export function queryServiceState(name: string): WinResult<{ state: number; pid: number }> {
  return withService(name, (svc) => {
    const buf = Buffer.alloc(36);
    if (!serviceApi().QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, buf, buf.length, Buffer.alloc(4))) return fail('QueryServiceStatusEx');
    return { ok: true, value: { state: buf.readUInt32LE(4), pid: buf.readUInt32LE(28) } };
  });
}

/** Starts the service and waits until it reports `want` (4 running) or the deadline passes. */
export async function startAgentService(name: string, timeoutMs = 30_000): Promise<WinResult<number>> {
  const started = withService(name, (svc) => (serviceApi().StartServiceW(svc, 0, null) ? { ok: true, value: undefined } : fail('StartServiceW')));
  if (!started.ok) return started;
  return waitForState(name, 4, timeoutMs);
}

/** Asks the service to stop and waits until it is stopped. */
export async function stopAgentService(name: string, timeoutMs = 30_000): Promise<WinResult<number>> {
  const sent = withService(name, (svc) => (serviceApi().ControlService(svc, SERVICE_CONTROL_STOP, Buffer.alloc(28)) ? { ok: true, value: undefined } : fail('ControlService(STOP)')));
  if (!sent.ok && sent.code !== ERROR_SERVICE_NOT_ACTIVE) return sent;
  return waitForState(name, 1, timeoutMs);
}

async function waitForState(name: string, want: number, timeoutMs: number): Promise<WinResult<number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const q = queryServiceState(name);
    if (!q.ok) return q;
    if (q.value.state === want) return { ok: true, value: want };
    if (want === 4 && q.value.state === 1) return { ok: false, code: 0, message: 'the service stopped while starting (see agent.log)' };
    if (Date.now() > deadline) return { ok: false, code: 0, message: `the service is in state ${q.value.state}, not ${want}, after ${timeoutMs} ms` };
    await sleep(250);
  }
}

/** Marks the service for deletion (gone once its last handle closes). */
export function deleteAgentService(name: string): WinResult<void> {
  return withService(name, (svc) => (serviceApi().DeleteService(svc) ? { ok: true, value: undefined } : fail('DeleteService')));
}

/** Replaces the DACL of `path` with `sddl`'s, protected from inheritance. */
export function protectPath(path: string, sddl = PRIVATE_DIR_SDDL): WinResult<void> {
  const api = serviceApi();
  const sdOut = Buffer.alloc(8);
  if (!api.ConvertStringSecurityDescriptorToSecurityDescriptorW(wide(sddl), 1, sdOut, null)) return fail('ConvertStringSecurityDescriptorToSecurityDescriptorW');
  const sd = sdOut.readBigUInt64LE(0);
  try {
    if (!api.SetFileSecurityW(wide(path), (DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION) >>> 0, sd)) return fail('SetFileSecurityW');
    return { ok: true, value: undefined };
  } finally {
    api.LocalFree(sd);
  }
}
