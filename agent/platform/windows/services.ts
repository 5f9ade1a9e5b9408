/** Windows services through the Service Control Manager: list (with startup type) and control. */
import { setTimeout as sleep } from 'node:timers/promises';
import { type Result, err, ok } from '../../../proto/errors.js';
import type { ControlResult, ServiceList } from '../port.js';
import { ENUM_SERVICE_STATUS_PROCESSW_SIZE, decodeServiceArray, decodeServiceStatusProcess, decodeStartType, startupTypeName } from './service-records.js';
import { wide } from './utf16.js';
import { badHandle, lastErrorText, readWideAt, win32 } from './win32-api.js';

const SC_MANAGER_CONNECT = 0x1;
const SC_MANAGER_ENUMERATE_SERVICE = 0x4;
const SC_ENUM_PROCESS_INFO = 0;
const SERVICE_WIN32 = 0x30;
const SERVICE_STATE_ALL = 3;
const SERVICE_QUERY_CONFIG = 0x1;
const SERVICE_QUERY_STATUS = 0x4;
const SERVICE_START = 0x10;
const SERVICE_STOP = 0x20;
const SERVICE_CONTROL_STOP = 1;
const SC_STATUS_PROCESS_INFO = 0;
const SERVICE_STOPPED = 1;
const SERVICE_RUNNING = 4;
const ERROR_ACCESS_DENIED = 5;
const ERROR_SERVICE_DOES_NOT_EXIST = 1060;
const ERROR_MORE_DATA = 234;

/** Options for controlService; defaults visible here. */
const serviceControlDefaults = { stopWaitMs: 30_000, pollMs: 250 };

function openScm(access: number): Result<bigint> {
  const h = win32().OpenSCManagerW(null, null, access) as bigint;
  if (badHandle(h)) {
    const e = lastErrorText('OpenSCManagerW');
    return err(e.code === ERROR_ACCESS_DENIED ? 'AGENT_NOT_ELEVATED' : 'PLATFORM_ERROR', e.text);
  }
  return ok(h);
}

/** dwStartType of one service via QueryServiceConfigW (two-call size protocol); -1 when unreadable. */
function startType(scm: bigint, name: string): number {
  const w = win32();
  const svc = w.OpenServiceW(scm, wide(name), SERVICE_QUERY_CONFIG) as bigint;
  if (badHandle(svc)) return -1;
  try {
    const needed = Buffer.alloc(4);
    w.QueryServiceConfigW(svc, null, 0, needed);
    const buf = Buffer.alloc(Math.max(needed.readUInt32LE(0), 64));
    return w.QueryServiceConfigW(svc, buf, buf.length, needed) ? decodeStartType(buf) : -1;
  } finally {
    w.CloseServiceHandle(svc);
  }
}

/** Every Win32 service with name, display name, status, pid and startup type. */
export function listServices(): Result<ServiceList> {
  const w = win32();
  const scm = openScm(SC_MANAGER_CONNECT | SC_MANAGER_ENUMERATE_SERVICE);
  if (!scm.ok) {
    return ok({ services: [], available: false, unavailableReason: scm.error.message });
  }
  try {
    const needed = Buffer.alloc(4);
    const count = Buffer.alloc(4);
    const resume = Buffer.alloc(4);
    let buf = Buffer.alloc(0);
    // First call sizes the buffer (ERROR_MORE_DATA); services can appear in between, so retry a few times.
    for (let attempt = 0; attempt < 4; attempt++) {
      resume.writeUInt32LE(0);
      const done = w.EnumServicesStatusExW(scm.value, SC_ENUM_PROCESS_INFO, SERVICE_WIN32, SERVICE_STATE_ALL, buf.length ? buf : null, buf.length, needed, count, resume, null);
      if (done) {
        const services = decodeServiceArray(buf, count.readUInt32LE(0), readWideAt);
        for (const s of services) s.startupType = startupTypeName(startType(scm.value, s.name ?? ''));
        services.sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''));
        return ok({ services, available: true, unavailableReason: '' });
      }
      const e = lastErrorText('EnumServicesStatusExW');
      if (e.code !== ERROR_MORE_DATA) return err('PLATFORM_ERROR', e.text);
      buf = Buffer.alloc(needed.readUInt32LE(0) + ENUM_SERVICE_STATUS_PROCESSW_SIZE * 8);
    }
    return err('PLATFORM_ERROR', 'EnumServicesStatusExW kept asking for a larger buffer');
  } finally {
    w.CloseServiceHandle(scm.value);
  }
}

function queryState(svc: bigint): number {
  const buf = Buffer.alloc(36);
  const needed = Buffer.alloc(4);
  return win32().QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, buf, 36, needed) ? decodeServiceStatusProcess(buf).state : 0;
}

async function waitForState(svc: bigint, state: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (queryState(svc) === state) return true;
    await sleep(serviceControlDefaults.pollMs);
  }
  return queryState(svc) === state;
}

function stop(svc: bigint): string | undefined {
  const status = Buffer.alloc(28);
  if (win32().ControlService(svc, SERVICE_CONTROL_STOP, status)) return undefined;
  return lastErrorText('ControlService(STOP)').text;
}

function start(svc: bigint): string | undefined {
  if (win32().StartServiceW(svc, 0, null)) return undefined;
  return lastErrorText('StartServiceW').text;
}

/** start / stop / restart a service; restart = stop, wait until stopped, start. */
export async function controlService(name: string, action: 'start' | 'stop' | 'restart'): Promise<Result<ControlResult>> {
  const w = win32();
  const scm = openScm(SC_MANAGER_CONNECT);
  if (!scm.ok) return scm;
  try {
    const svc = w.OpenServiceW(scm.value, wide(name), SERVICE_START | SERVICE_STOP | SERVICE_QUERY_STATUS) as bigint;
    if (badHandle(svc)) {
      const e = lastErrorText('OpenServiceW');
      if (e.code === ERROR_SERVICE_DOES_NOT_EXIST) return err('NOT_FOUND', `no service named "${name}"`);
      if (e.code === ERROR_ACCESS_DENIED) return err('AGENT_NOT_ELEVATED', `${e.text}: the agent must run as SYSTEM or an administrator`);
      return err('PLATFORM_ERROR', e.text);
    }
    try {
      const result = (okay: boolean, detail: string): Result<ControlResult> => ok({ ok: okay, target: name, action, detail });
      if (action === 'start') {
        const e = start(svc);
        if (e) return result(false, e);
        return result(true, (await waitForState(svc, SERVICE_RUNNING, serviceControlDefaults.stopWaitMs)) ? 'running' : 'start requested; not running yet');
      }
      if (queryState(svc) !== SERVICE_STOPPED) {
        const e = stop(svc);
        if (e) return result(false, e);
      }
      const stopped = await waitForState(svc, SERVICE_STOPPED, serviceControlDefaults.stopWaitMs);
      if (action === 'stop') return result(stopped, stopped ? 'stopped' : 'stop requested; still stopping');
      if (!stopped) return result(false, `did not stop within ${serviceControlDefaults.stopWaitMs} ms; not started again`);
      const e = start(svc);
      if (e) return result(false, `stopped, then ${e}`);
      return result(true, (await waitForState(svc, SERVICE_RUNNING, serviceControlDefaults.stopWaitMs)) ? 'restarted' : 'stopped; start requested, not running yet');
    } finally {
      w.CloseServiceHandle(svc);
    }
  } finally {
    w.CloseServiceHandle(scm.value);
  }
}
