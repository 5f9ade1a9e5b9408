/** `guruconnect-agent service`: the agent under the Windows Service Control Manager. */
import { format } from 'node:util';
import { createLogger } from '../../proto/log/logger.js';
import type { AgentProcess } from '../run-agent.js';
import { serviceLogFile } from './service-log-file.js';

/** The service's log (service-log-file.ts); whatever a library prints to the console goes there too. */
function logFile(dir: string): { write(line: string): void } {
  const file = serviceLogFile(dir);
  const stray = (...args: unknown[]) => file.write(`${format(...args)}\n`);
  console.log = stray;
  console.info = stray;
  console.warn = stray;
  console.error = stray;
  return file;
}

/** Runs the service until the SCM stops it; resolves to the exit code. */
export async function runWindowsService(opts: { version?: string }): Promise<number> {
  const stateDir = process.env.GC_AGENT_STATE_DIR;
  if (process.platform !== 'win32' || !stateDir) {
    console.error('`service` is started by the Windows service manager (see `install`); run `guruconnect-agent run` in a console');
    return 2;
  }
  // The dispatcher holds one libuv worker thread for the service's whole life: keep four for the rest.
  process.env.UV_THREADPOOL_SIZE ??= '6';
  const destination = logFile(stateDir);
  // Until the agent has read its configuration, the service's lines carry no agent id; after, they do.
  const early = createLogger({ name: 'agent', destination }).child({ component: 'service' });
  let agent: AgentProcess | undefined;
  let serviceLog = early;
  const log = (msg: string) => serviceLog.info(msg);
  const { runServiceDispatcher, SERVICE_NAME } = await import('../platform/windows/service-dispatcher.js');
  const r = await runServiceDispatcher(SERVICE_NAME, {
    async start() {
      const { runAgent } = await import('../run-agent.js');
      agent = await runAgent({ version: opts.version, handleSignals: false, logDestination: destination });
      serviceLog = agent.log.child({ component: 'service' });
      log('running');
    },
    stop: async (reason) => {
      await agent?.stop(reason);
      log('stopped');
    },
    sessionChanged: () => void agent?.refreshSessions().catch((e: Error) => log(`session re-list: ${e.message}`)),
    log,
  });
  if (r.notAService) log('not started by the service manager');
  return r.exitCode;
}
