/**
 * Backstage operations as the gateway issues them (REST and WebSocket share this): builds the
 * BackstageCommand, streams chunks, and turns the agent's final answer into a plain result.
 */
import { type Decoded, pb } from '../../../proto/codec.js';
import type { guruconnect } from '../../../proto/generated/guruconnect.js';
import { ErrorCode, type Result, err, ok } from '../../../proto/errors.js';
import type { AgentId } from '../../../proto/ids.js';
import type { Actor, CommandClient } from '../bus/command-client.js';
import type { CommandTiming } from '../bus/command-timing.js';

const T = pb.BackstageCommandType;
const SHELLS = { default: pb.Shell.SHELL_DEFAULT, cmd: pb.Shell.SHELL_CMD, powershell: pb.Shell.SHELL_POWERSHELL, sh: pb.Shell.SHELL_SH } as const;
export type ShellName = keyof typeof SHELLS;

export type BackstageRequest =
  | { kind: 'exec'; command: string; shell?: ShellName; timeoutSecs?: number; asSessionId?: number }
  | { kind: 'services' }
  | { kind: 'processes'; cpuSampleMs?: number }
  | { kind: 'system' }
  | { kind: 'service_control'; name: string; action: 'start' | 'stop' | 'restart' }
  | { kind: 'kill'; pid: number }
  | { kind: 'cancel'; commandId: string };

export interface BackstageClientDeps {
  commands: CommandClient;
  maxTimeoutSecs: number;
  /** Time allowed for the agent's answer on top of the command's own timeout. */
  slackMs: number;
  defaultTimeoutSecs: number;
}

function toCommand(req: BackstageRequest, maxTimeoutSecs: number): guruconnect.BackstageCommand.$Properties {
  switch (req.kind) {
    case 'exec':
      return {
        commandType: T.BACKSTAGE_EXEC_COMMAND,
        commandText: req.command,
        shell: SHELLS[req.shell ?? 'default'],
        timeoutSecs: Math.min(req.timeoutSecs ?? 0, maxTimeoutSecs),
        asSessionId: req.asSessionId ?? 0,
      };
    case 'services':
      return { commandType: T.BACKSTAGE_LIST_SERVICES };
    case 'processes':
      return { commandType: T.BACKSTAGE_LIST_PROCESSES, cpuSampleMs: req.cpuSampleMs ?? 0 };
    case 'system':
      return { commandType: T.BACKSTAGE_SYSTEM_INFO };
    case 'service_control':
      return { commandType: T.BACKSTAGE_SERVICE_CONTROL, target: req.name, action: req.action };
    case 'kill':
      return { commandType: T.BACKSTAGE_PROCESS_KILL, target: String(req.pid) };
    case 'cancel':
      return { commandType: T.BACKSTAGE_CANCEL, target: req.commandId };
  }
}

export function createBackstageClient(deps: BackstageClientDeps) {
  return {
    /**
     * Runs one backstage operation and resolves with the agent's final BackstageOutput; `onChunk`
     * receives streamed output. An agent-side error (e.g. SESSION_NOT_FOUND) is an error result.
     */
    async run(
      agentId: AgentId,
      req: BackstageRequest,
      actor: Actor,
      opts: { commandId?: string; onChunk?: (c: guruconnect.OutputChunk.$Properties) => void; signal?: AbortSignal; timing?: CommandTiming } = {},
    ): Promise<Result<{ commandId: string; output: guruconnect.BackstageOutput.$Properties }>> {
      const command = toCommand(req, deps.maxTimeoutSecs);
      const runSecs = req.kind === 'exec' ? command.timeoutSecs || deps.defaultTimeoutSecs : 30;
      const r = await deps.commands.issue(
        agentId,
        'backstage',
        { backstageCommand: command },
        {
          actor,
          commandId: opts.commandId,
          timeoutMs: runSecs * 1000 + deps.slackMs,
          isFinal: (m: Decoded) => m.backstageOutput?.final === true,
          onProgress: (m: Decoded) => {
            const chunk = m.backstageOutput?.chunk;
            if (chunk) opts.onChunk?.(chunk);
          },
          signal: opts.signal,
          timing: opts.timing,
        },
      );
      if (!r.ok) return r;
      const output = r.value.answer.backstageOutput!;
      if (output.error?.code) return err((output.error.code as ErrorCode) || ErrorCode.PLATFORM_ERROR, output.error.message ?? 'the agent reported an error');
      return ok({ commandId: r.value.commandId, output });
    },
  };
}
export type BackstageClient = ReturnType<typeof createBackstageClient>;
