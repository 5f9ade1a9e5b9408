/**
 * Runs backstage commands (Session 0 / the agent's account, or a chosen session's user) and
 * answers on gc.agent.<self>.backstage.output: output chunks while a command runs, then one final
 * message with the result or a structured error. Several commands may run at once.
 */
import { type Decoded, pb } from '../../proto/codec.js';
import type { guruconnect } from '../../proto/generated/guruconnect.js';
import { ErrorCode, type GcError, type Result } from '../../proto/errors.js';
import { fitProcessList } from '../backstage/fit-process-list.js';
import type { BackstageRunner } from '../backstage/runner.js';
import type { PlatformPort } from '../platform/port.js';
import type { CommandHandler } from './commands.js';
import { type Publisher, TooLargeForOneMessage } from './publisher.js';

const T = pb.BackstageCommandType;
type Output = guruconnect.BackstageOutput.$Properties;

export interface BackstageHandlerDeps {
  platform: PlatformPort;
  runner: BackstageRunner;
  publisher: Publisher;
  agentVersion: string;
}

export function createBackstageHandler(deps: BackstageHandlerDeps): CommandHandler {
  const { platform, runner, publisher } = deps;
  const answer = (commandId: string, out: Output) => publisher.event('backstageOutput', { backstageOutput: out }, commandId);
  const fail = (commandType: number, e: GcError): Output => ({ commandType, final: true, error: { code: e.code, message: e.message } });
  const finalOf = <T>(commandType: number, r: Result<T>, wrap: (v: T) => Output): Output => (r.ok ? { ...wrap(r.value), commandType, final: true } : fail(commandType, r.error));

  return async (msg: Decoded, log) => {
    const cmd = msg.backstageCommand!;
    const id = msg.meta.id;
    const type = cmd.commandType ?? T.BACKSTAGE_EXEC_COMMAND;
    let out: Output;
    switch (type) {
      case T.BACKSTAGE_EXEC_COMMAND: {
        // Chunks are published without waiting; one connection keeps them in order before the final.
        const r = await runner.run(
          { commandId: id, commandText: cmd.commandText ?? '', shell: cmd.shell ?? 0, timeoutMs: (cmd.timeoutSecs ?? 0) * 1000, capBytes: cmd.outputCapBytes ?? 0, asSessionId: cmd.asSessionId ?? 0 },
          (c) => {
            answer(id, { commandType: type, chunk: { stream: c.stream === 'stderr' ? pb.OutputStream.STDERR : pb.OutputStream.STDOUT, data: c.data, seq: c.seq } }).catch((e) =>
              log.warn({ err: e, seq: c.seq }, 'output chunk not published'),
            );
          },
        );
        // The text already went out in the chunks; the final message carries the facts, not a second copy.
        out = finalOf(type, r, (o) => ({ commandOutput: { ...o, stdout: '', stderr: '' } }));
        break;
      }
      case T.BACKSTAGE_LIST_SERVICES:
        out = finalOf(type, await platform.listServices(), (s) => ({ serviceList: s }));
        break;
      case T.BACKSTAGE_LIST_PROCESSES:
        out = finalOf(type, await platform.listProcesses({ cpuSampleMs: Math.min(cmd.cpuSampleMs ?? 0, 5000) }), (p) => {
          const f = fitProcessList(p);
          if (f.omitted || f.commandLinesCut) log.warn({ omitted: f.omitted, command_lines_cut: f.commandLinesCut }, 'process list shortened to fit one message');
          return { processList: { processes: f.processes, omitted: f.omitted, commandLinesCut: f.commandLinesCut } };
        });
        break;
      case T.BACKSTAGE_SYSTEM_INFO:
        out = finalOf(type, await platform.systemInfo(), (s) => ({ systemInfo: { ...s, agentVersion: deps.agentVersion } }));
        break;
      case T.BACKSTAGE_CANCEL: {
        const cancelled = runner.cancel(cmd.target ?? '');
        out = cancelled
          ? { commandType: type, final: true, controlResult: { ok: true, target: cmd.target, action: 'cancel', detail: 'cancel requested' } }
          : fail(type, { code: ErrorCode.NOT_FOUND, message: `no running command ${cmd.target}` });
        break;
      }
      case T.BACKSTAGE_SERVICE_CONTROL: {
        const action = cmd.action;
        if (action !== 'start' && action !== 'stop' && action !== 'restart') {
          out = fail(type, { code: ErrorCode.VALIDATION_FAILED, message: `service action must be start, stop or restart, not "${action}"` });
        } else {
          out = finalOf(type, await platform.controlService(cmd.target ?? '', action), (c) => ({ controlResult: c }));
        }
        break;
      }
      case T.BACKSTAGE_PROCESS_KILL: {
        const pid = Number(cmd.target);
        out =
          Number.isInteger(pid) && pid > 0
            ? finalOf(type, await platform.killProcess(pid), (c) => ({ controlResult: c }))
            : fail(type, { code: ErrorCode.VALIDATION_FAILED, message: `"${cmd.target}" is not a process id` });
        break;
      }
      default:
        out = fail(type, { code: ErrorCode.VALIDATION_FAILED, message: `unknown backstage command type ${type}` });
    }
    try {
      await answer(id, out);
    } catch (e) {
      // An answer the bus would refuse is never sent, and its caller would wait for a TIMEOUT: say why instead.
      if (!(e instanceof TooLargeForOneMessage)) throw e;
      log.warn({ error_code: ErrorCode.PAYLOAD_TOO_LARGE, bytes: e.bytes }, 'backstage answer too large for one message');
      await answer(id, fail(type, { code: ErrorCode.PAYLOAD_TOO_LARGE, message: `the answer is too large: ${e.message}` }));
    }
  };
}
