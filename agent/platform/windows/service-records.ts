/** Pure decoding of the service manager's records (x64 layouts), testable on any platform. */
import { guruconnect } from '../../../proto/generated/guruconnect.js';
import type { ServiceList } from '../port.js';

type ServiceInfo = NonNullable<ServiceList['services']>[number];

/**
 * ENUM_SERVICE_STATUS_PROCESSW on x64: LPWSTR lpServiceName @0; LPWSTR lpDisplayName @8;
 * SERVICE_STATUS_PROCESS @16 { dwServiceType @16; dwCurrentState @20; dwControlsAccepted @24;
 * dwWin32ExitCode @28; dwServiceSpecificExitCode @32; dwCheckPoint @36; dwWaitHint @40;
 * dwProcessId @44; dwServiceFlags @48 }; padded to 56.
 */
export const ENUM_SERVICE_STATUS_PROCESSW_SIZE = 56;

/** SERVICE_STATUS dwCurrentState -> the wire status. */
function mapServiceState(state: number): guruconnect.ServiceStatus {
  switch (state) {
    case 1:
      return guruconnect.ServiceStatus.SERVICE_STOPPED;
    case 4:
      return guruconnect.ServiceStatus.SERVICE_RUNNING;
    case 7:
      return guruconnect.ServiceStatus.SERVICE_PAUSED;
    default:
      // 2 start, 3 stop, 5 continue, 6 pause pending.
      return guruconnect.ServiceStatus.SERVICE_PENDING;
  }
}

/** QUERY_SERVICE_CONFIGW dwStartType -> the name services.msc shows. */
export function startupTypeName(startType: number): string {
  return ['Boot', 'System', 'Automatic', 'Manual', 'Disabled'][startType] ?? `Unknown (${startType})`;
}

/** The services in an EnumServicesStatusExW(SC_ENUM_PROCESS_INFO) buffer; startupType left ''. */
export function decodeServiceArray(buf: Buffer, count: number, readWideString: (ptr: bigint) => string): ServiceInfo[] {
  const out: ServiceInfo[] = [];
  for (let i = 0; i < count; i++) {
    const base = i * ENUM_SERVICE_STATUS_PROCESSW_SIZE;
    if (base + ENUM_SERVICE_STATUS_PROCESSW_SIZE > buf.length) break;
    out.push({
      name: readWideString(buf.readBigUInt64LE(base)),
      displayName: readWideString(buf.readBigUInt64LE(base + 8)),
      status: mapServiceState(buf.readUInt32LE(base + 20)),
      pid: buf.readUInt32LE(base + 44),
      startupType: '',
    });
  }
  return out;
}

/** QUERY_SERVICE_CONFIGW on x64: DWORD dwServiceType @0; DWORD dwStartType @4; ... */
export function decodeStartType(buf: Buffer): number {
  return buf.readUInt32LE(4);
}

/** SERVICE_STATUS_PROCESS: dwCurrentState @4, dwProcessId @28. */
export function decodeServiceStatusProcess(buf: Buffer): { state: number; pid: number } {
  return { state: buf.readUInt32LE(4), pid: buf.readUInt32LE(28) };
}
