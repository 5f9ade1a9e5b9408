/**
 * The agent as a real Windows service. StartServiceCtrlDispatcherW blocks for the service's whole
 * life, so it runs as a koffi async call (on a libuv worker thread); the SCM calls ServiceMain on a
 * thread of its own and HandlerEx on the dispatcher's thread, and koffi relays both to the Node main
 * thread, which stays free. States: START_PENDING (with a wait hint) → RUNNING → STOP_PENDING →
 * STOPPED; STOP and SHUTDOWN run the agent's graceful stop, SESSIONCHANGE a session re-list.
 */
import { type ServiceHandler, addressOfBuffer, isBadHandle, registerServiceCallbacks, serviceApi } from './service-api.js';
import { wide } from './utf16.js';

export const SERVICE_NAME = 'GuruConnectAgent';

export const ServiceState = { STOPPED: 1, START_PENDING: 2, STOP_PENDING: 3, RUNNING: 4 } as const;
export const ServiceControl = { STOP: 1, INTERROGATE: 4, SHUTDOWN: 5, SESSIONCHANGE: 0x0e } as const;
const SERVICE_WIN32_OWN_PROCESS = 0x10;
const SERVICE_ACCEPT_STOP = 0x1;
const SERVICE_ACCEPT_SHUTDOWN = 0x4;
const SERVICE_ACCEPT_SESSIONCHANGE = 0x80;
const NO_ERROR = 0;
const ERROR_CALL_NOT_IMPLEMENTED = 120;
const ERROR_SERVICE_SPECIFIC_ERROR = 1066;

/** SERVICE_STATUS: seven DWORDs (type, state, controls accepted, exit code, specific exit code, checkpoint, wait hint). */
export function buildServiceStatus(state: number, o: { checkpoint?: number; waitHintMs?: number; specificExitCode?: number } = {}): Buffer {
  const b = Buffer.alloc(28);
  const accepts = state === ServiceState.RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN | SERVICE_ACCEPT_SESSIONCHANGE : 0;
  b.writeUInt32LE(SERVICE_WIN32_OWN_PROCESS, 0);
  b.writeUInt32LE(state, 4);
  b.writeUInt32LE(accepts, 8);
  b.writeUInt32LE(o.specificExitCode ? ERROR_SERVICE_SPECIFIC_ERROR : NO_ERROR, 12);
  b.writeUInt32LE(o.specificExitCode ?? 0, 16);
  b.writeUInt32LE(o.checkpoint ?? 0, 20);
  b.writeUInt32LE(o.waitHintMs ?? 0, 24);
  return b;
}

/** SERVICE_TABLE_ENTRYW[2]: {name, ServiceMain} and the NULL terminator (32 bytes on x64). */
export function buildServiceTable(name: bigint, main: bigint): Buffer {
  const b = Buffer.alloc(32);
  b.writeBigUInt64LE(name, 0);
  b.writeBigUInt64LE(main, 8);
  return b;
}

/**
 * What HandlerEx answers for `control`: STOP and SHUTDOWN start the stop, SESSIONCHANGE re-lists,
 * INTERROGATE is acknowledged, anything else is ERROR_CALL_NOT_IMPLEMENTED. Exceptions must not cross
 * into advapi32 (koffi would answer 0, NO_ERROR, for a throwing callback): they are logged.
 */
export function handleControl(control: number, o: { stop(reason: string): void; sessionChanged(): void; log(msg: string): void }): number {
  try {
    if (control === ServiceControl.STOP || control === ServiceControl.SHUTDOWN) {
      o.stop(control === ServiceControl.STOP ? 'SERVICE_CONTROL_STOP' : 'SERVICE_CONTROL_SHUTDOWN');
      return NO_ERROR;
    }
    if (control === ServiceControl.SESSIONCHANGE) {
      o.sessionChanged();
      return NO_ERROR;
    }
    if (control === ServiceControl.INTERROGATE) return NO_ERROR;
  } catch (e) {
    o.log(`service control ${control}: ${(e as Error).message}`);
  }
  return ERROR_CALL_NOT_IMPLEMENTED;
}

export interface ServiceBody {
  /** Starts the agent; resolves once it runs. */
  start(): Promise<void>;
  /** The graceful stop. */
  stop(reason: string): Promise<void>;
  /** A session was logged on, off, locked, unlocked, connected or disconnected. */
  sessionChanged(): void;
  log(msg: string): void;
}

/**
 * Runs `body` as the service `name` until the SCM stops it; resolves to the process exit code.
 * Resolves `notAService: true` at once when this process was not started by the SCM (the dispatcher
 * fails, with error 1063, before any ServiceMain call).
 */
export function runServiceDispatcher(name: string, body: ServiceBody): Promise<{ exitCode: number; notAService: boolean }> {
  const api = serviceApi();
  const nameW = wide(name);
  let statusHandle: bigint | null = null;
  let checkpoint = 0;
  let stopping = false;
  let mainCalled = false;
  const report = (state: number, o: { waitHintMs?: number; specificExitCode?: number } = {}) => {
    if (statusHandle === null) return;
    const pending = state === ServiceState.START_PENDING || state === ServiceState.STOP_PENDING;
    if (!api.SetServiceStatus(statusHandle, buildServiceStatus(state, { ...o, checkpoint: pending ? ++checkpoint : 0 }))) {
      body.log(`SetServiceStatus(${state}) failed (Win32 error ${api.GetLastError()})`);
    }
  };
  const stop = (reason: string) => {
    if (stopping) return;
    stopping = true;
    report(ServiceState.STOP_PENDING, { waitHintMs: 15_000 });
    // A heartbeat of checkpoints while the stop runs: the SCM gives up on a silent STOP_PENDING.
    const tick = setInterval(() => report(ServiceState.STOP_PENDING, { waitHintMs: 15_000 }), 2_000);
    void body
      .stop(reason)
      .catch((e: Error) => body.log(`stop: ${e.message}`))
      .finally(() => {
        clearInterval(tick);
        report(ServiceState.STOPPED);
      });
  };
  const handler: ServiceHandler = (control) => handleControl(control, { stop, sessionChanged: body.sessionChanged, log: body.log });
  const serviceMain = () => {
    mainCalled = true;
    try {
      const h = api.RegisterServiceCtrlHandlerExW(nameW, callbacks.handler, null) as bigint | null;
      if (isBadHandle(h)) {
        body.log(`RegisterServiceCtrlHandlerExW failed (Win32 error ${api.GetLastError()})`);
        return;
      }
      statusHandle = h;
      report(ServiceState.START_PENDING, { waitHintMs: 30_000 });
    } catch (e) {
      body.log(`ServiceMain: ${(e as Error).message}`);
      return;
    }
    // ServiceMain returns at once (its thread is the SCM's); the service runs until STOPPED is reported.
    void body.start().then(
      () => {
        if (!stopping) report(ServiceState.RUNNING);
      },
      (e: Error) => {
        body.log(`start failed: ${e.message}`);
        stopping = true;
        report(ServiceState.STOPPED, { specificExitCode: 1 });
      },
    );
  };
  const callbacks = registerServiceCallbacks(serviceMain, handler);
  const table = buildServiceTable(addressOfBuffer(nameW), callbacks.main);
  return new Promise((resolve) => {
    // The dispatcher reads `table` and `nameW` until it returns: held here until then, not collected.
    const inUse = [table, nameW];
    api.StartServiceCtrlDispatcherW.async(table, (e: Error | null, ok: boolean) => {
      inUse.length = 0;
      callbacks.release();
      if (e) body.log(`StartServiceCtrlDispatcherW: ${e.message}`);
      resolve({ exitCode: ok ? 0 : 1, notAService: !ok && !mainCalled });
    });
  });
}
