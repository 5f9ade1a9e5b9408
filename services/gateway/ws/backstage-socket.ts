/**
 * Backstage messages of a viewer socket. Admin-only, checked for every message: a non-admin's
 * message is refused with FORBIDDEN and the denial is audited, whatever the UI showed.
 */
import type { FastifyRequest } from 'fastify';
import { pb } from '../../../proto/codec.js';
import { ErrorCode } from '../../../proto/errors.js';
import { newId } from '../../../proto/ids.js';
import type { BackstageClient, BackstageRequest } from '../backstage/backstage-client.js';
import type { ClientMessage } from './protocol.js';
import type { ViewerState } from './viewer-socket.js';

type BackstageMessage = Exclude<ClientMessage, { t: 'watch' | 'switch' | 'input' | 'keyframe' | 'sessions' | `terminal.${string}` }>;

export interface BackstageSocketDeps {
  backstage: BackstageClient;
  request: FastifyRequest;
  runs: Map<string, AbortController>;
  audit: (eventType: string, details?: Record<string, unknown>) => Promise<void>;
}

const CPU_SAMPLE_MS = 500;

export async function handleBackstageMessage(m: BackstageMessage, state: ViewerState, deps: BackstageSocketDeps): Promise<void> {
  const req = 'req' in m ? m.req : 'id' in m ? m.id : undefined;
  if (state.actor.role !== 'admin') {
    await deps.audit('access_denied', { action: m.t, reason: `backstage is admin-only; role ${state.actor.role}`, agent_id: state.agentId });
    return state.error(ErrorCode.FORBIDDEN, 'backstage is for admins only; this attempt was recorded', req);
  }
  if (m.t === 'backstage.enter') {
    state.mode = 'backstage';
    await deps.audit('backstage_entered');
    return state.send({ t: 'backstage.entered' });
  }
  if (m.t === 'backstage.exit') {
    state.mode = 'screen';
    // The connection goes on as screen control (connect_sessions follows the mode it returns to).
    await deps.audit('backstage_exited', { reason: 'user', session_type: 'screen_control' });
    return state.send({ t: 'backstage.exited' });
  }
  if (state.mode !== 'backstage') return state.error(ErrorCode.CONFLICT, 'enter backstage first', req);

  if (m.t === 'backstage.cancel') {
    const running = deps.runs.get(m.id);
    if (!running) return state.error(ErrorCode.NOT_FOUND, `no running command ${m.id}`, m.id);
    const commandId = (running as AbortController & { commandId?: string }).commandId ?? '';
    const r = await deps.backstage.run(state.agentId, { kind: 'cancel', commandId }, state.actor);
    if (!r.ok) state.error(r.error.code, r.error.message, m.id);
    return;
  }

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
        t: 'backstage.done', id: req, command_id: commandId, exit_code: c.exitCode ?? 0, truncated: !!c.truncated, timed_out: !!c.timedOut,
        cancelled: !!c.cancelled, duration_ms: Number(c.durationMs ?? 0), output_bytes: Number(c.outputBytes ?? 0), run_as_user: c.runAsUser ?? '',
        stdout: c.stdout ?? '', stderr: c.stderr ?? '',
      });
    }
    if (o.serviceList) return state.send({ t: 'backstage.services', req, available: o.serviceList.available !== false, reason: o.serviceList.unavailableReason ?? '', services: o.serviceList.services ?? [] });
    if (o.processList) return state.send({ t: 'backstage.processes', req, processes: o.processList.processes ?? [] });
    if (o.systemInfo) return state.send({ t: 'backstage.system', req, system: o.systemInfo });
    if (o.controlResult) return state.send({ t: 'backstage.control', req, result: o.controlResult });
    return state.error(ErrorCode.PLATFORM_ERROR, 'the agent answered without a result', req);
  } finally {
    if (m.t === 'backstage.exec') deps.runs.delete(m.id);
  }
}

function toRequest(m: Exclude<BackstageMessage, { t: 'backstage.enter' | 'backstage.exit' | 'backstage.cancel' }>): BackstageRequest {
  switch (m.t) {
    case 'backstage.exec': return { kind: 'exec', command: m.command, shell: m.shell, timeoutSecs: m.timeout_secs, asSessionId: m.as_session_id };
    case 'backstage.services': return { kind: 'services' };
    case 'backstage.processes': return { kind: 'processes', cpuSampleMs: m.cpu ? CPU_SAMPLE_MS : 0 };
    case 'backstage.system': return { kind: 'system' };
    case 'backstage.service_control': return { kind: 'service_control', name: m.name, action: m.action };
    case 'backstage.kill': return { kind: 'kill', pid: m.pid };
  }
}
