/**
 * Backstage operations of a viewer socket (exec, cancel, services, processes, system, service
 * control, kill). Who may send them, and in which mode, the viewer decider checked already
 * (viewer-decider.ts, through the policy table).
 */
import { pb } from '../../../proto/codec.js';
import { ErrorCode } from '../../../proto/errors.js';
import { newId } from '../../../proto/ids.js';
import type { BackstageClient, BackstageRequest } from '../backstage/backstage-client.js';
import type { ViewerChannel } from './viewer-channel.js';
import type { BackstageMessage } from './viewer-decider.js';

export type BackstageOperation = Exclude<BackstageMessage, { t: 'backstage.enter' | 'backstage.exit' }>;

/** A running exec's abort controller, with the command id a cancel names. */
export type BackstageRun = AbortController & { commandId: string };

export interface BackstageSocketDeps {
  backstage: BackstageClient;
  runs: Map<string, BackstageRun>;
}

const CPU_SAMPLE_MS = 500;

export async function handleBackstageMessage(m: BackstageOperation, state: ViewerChannel, deps: BackstageSocketDeps): Promise<void> {
  const req = 'req' in m ? m.req : 'id' in m ? m.id : undefined;

  if (m.t === 'backstage.cancel') {
    const running = deps.runs.get(m.id);
    if (!running) return state.error(ErrorCode.NOT_FOUND, `no running command ${m.id}`, m.id);
    const r = await deps.backstage.run(state.agentId, { kind: 'cancel', commandId: running.commandId }, state.actor);
    if (!r.ok) state.error(r.error.code, r.error.message, m.id);
    return;
  }

  // One running command per id: a replayed exec took the first one's place, so a cancel, and the
  // cancel-on-leave, no longer reached it and it ran on after the technician left.
  if (m.t === 'backstage.exec' && deps.runs.has(m.id)) return state.error(ErrorCode.CONFLICT, `a command with id ${m.id} is still running; give each command its own id`, m.id);
  const request = toRequest(m);
  const commandId = newId();
  const abort = Object.assign(new AbortController(), { commandId });
  if (m.t === 'backstage.exec') deps.runs.set(m.id, abort);
  try {
    const r = await deps.backstage.run(state.agentId, request, state.actor, {
      commandId,
      signal: abort.signal,
      onChunk: (c) => state.send({ t: 'backstage.chunk', id: req, stream: c.stream === pb.OutputStream.STDERR ? 'stderr' : 'stdout', data: c.data ?? '' }),
    });
    if (!r.ok) return state.error(r.error.code, r.error.message, req);
    const o = r.value.output;
    if (o.commandOutput) {
      const c = o.commandOutput;
      return state.send({
        t: 'backstage.done',
        id: req,
        command_id: commandId,
        exit_code: c.exitCode ?? 0,
        truncated: !!c.truncated,
        timed_out: !!c.timedOut,
        cancelled: !!c.cancelled,
        duration_ms: Number(c.durationMs ?? 0),
        output_bytes: Number(c.outputBytes ?? 0),
        run_as_user: c.runAsUser ?? '',
        stdout: c.stdout ?? '',
        stderr: c.stderr ?? '',
      });
    }
    if (o.serviceList)
      return state.send({
        t: 'backstage.services',
        req,
        available: o.serviceList.available !== false,
        reason: o.serviceList.unavailableReason ?? '',
        services: o.serviceList.services ?? [],
        // The agent serves the list from a cache it keeps fresh: how old it is.
        age_ms: Number(o.serviceList.ageMs ?? 0),
      });
    if (o.processList)
      return state.send({
        t: 'backstage.processes',
        req,
        processes: o.processList.processes ?? [],
        // The agent shortened the list to fit one message (agent/backstage/fit-process-list.ts).
        omitted: o.processList.omitted ?? 0,
        command_lines_cut: o.processList.commandLinesCut ?? false,
      });
    if (o.systemInfo) return state.send({ t: 'backstage.system', req, system: o.systemInfo });
    if (o.controlResult) return state.send({ t: 'backstage.control', req, result: o.controlResult });
    return state.error(ErrorCode.PLATFORM_ERROR, 'the agent answered without a result', req);
  } finally {
    if (m.t === 'backstage.exec') deps.runs.delete(m.id);
  }
}

function toRequest(m: Exclude<BackstageOperation, { t: 'backstage.cancel' }>): BackstageRequest {
  switch (m.t) {
    case 'backstage.exec':
      return { kind: 'exec', command: m.command, shell: m.shell, timeoutSecs: m.timeout_secs, asSessionId: m.as_session_id };
    case 'backstage.services':
      return { kind: 'services' };
    case 'backstage.processes':
      return { kind: 'processes', cpuSampleMs: m.cpu ? CPU_SAMPLE_MS : 0 };
    case 'backstage.system':
      return { kind: 'system' };
    case 'backstage.service_control':
      return { kind: 'service_control', name: m.name, action: m.action };
    case 'backstage.kill':
      return { kind: 'kill', pid: m.pid };
  }
}
