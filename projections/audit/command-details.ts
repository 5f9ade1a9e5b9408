/** The audit details of each side of a command: what was asked, and what the agent (or gateway) said. */
import { pb } from '../../proto/codec.js';
import type { guruconnect } from '../../proto/generated/guruconnect.js';

const enumText = (e: Record<number, string>, v: number | null | undefined, prefix: RegExp) => (e[v ?? 0] ?? String(v)).replace(prefix, '').toLowerCase();

/** Audit event type of a backstage command kind (the spec's names plus one per remaining kind). */
export const backstageEventType: Record<number, string> = {
  [pb.BackstageCommandType.BACKSTAGE_EXEC_COMMAND]: 'backstage_command',
  [pb.BackstageCommandType.BACKSTAGE_LIST_SERVICES]: 'backstage_service_query',
  [pb.BackstageCommandType.BACKSTAGE_LIST_PROCESSES]: 'backstage_process_query',
  [pb.BackstageCommandType.BACKSTAGE_SYSTEM_INFO]: 'backstage_system_info',
  [pb.BackstageCommandType.BACKSTAGE_CANCEL]: 'backstage_cancel',
  [pb.BackstageCommandType.BACKSTAGE_SERVICE_CONTROL]: 'backstage_service_control',
  [pb.BackstageCommandType.BACKSTAGE_PROCESS_KILL]: 'backstage_process_kill',
};

export function backstageTypeOf(t: number | null | undefined): string {
  return backstageEventType[t ?? 0] ?? 'backstage_command';
}

/** Request side of a backstage command: only the fields its kind uses. */
export function backstageRequestDetails(c: guruconnect.IBackstageCommand): Record<string, unknown> {
  const T = pb.BackstageCommandType;
  const d: Record<string, unknown> = { command_type: enumText(pb.BackstageCommandType, c.commandType, /^BACKSTAGE_/) };
  switch (c.commandType ?? 0) {
    case T.BACKSTAGE_EXEC_COMMAND:
      Object.assign(d, { command_text: c.commandText ?? '', shell: enumText(pb.Shell, c.shell, /^SHELL_/), as_session_id: c.asSessionId ?? 0, timeout_secs: c.timeoutSecs ?? 0 });
      break;
    case T.BACKSTAGE_SERVICE_CONTROL:
      Object.assign(d, { target: c.target ?? '', action: c.action ?? '' });
      break;
    case T.BACKSTAGE_PROCESS_KILL:
    case T.BACKSTAGE_CANCEL:
      d.target = c.target ?? '';
      break;
    case T.BACKSTAGE_LIST_PROCESSES:
      d.cpu_sample_ms = c.cpuSampleMs ?? 0;
      break;
  }
  return d;
}

/** Outcome side of a final BackstageOutput. Never the output itself: only its size and flags. */
export function backstageOutcomeDetails(o: guruconnect.IBackstageOutput): Record<string, unknown> {
  const d: Record<string, unknown> = { ok: !o.error?.code };
  if (o.error?.code) Object.assign(d, { error_code: o.error.code, error_message: o.error.message ?? '' });
  const c = o.commandOutput;
  if (c) {
    Object.assign(d, {
      exit_code: c.exitCode ?? 0,
      truncated: c.truncated ?? false,
      timed_out: c.timedOut ?? false,
      cancelled: c.cancelled ?? false,
      duration_ms: Number(c.durationMs ?? 0),
      output_bytes: Number(c.outputBytes ?? 0),
      run_as_user: c.runAsUser ?? '',
    });
  }
  if (o.serviceList) Object.assign(d, { service_count: (o.serviceList.services ?? []).length, available: o.serviceList.available ?? false, unavailable_reason: o.serviceList.unavailableReason ?? '' });
  if (o.processList) d.process_count = (o.processList.processes ?? []).length;
  if (o.systemInfo) Object.assign(d, { hostname: o.systemInfo.hostname ?? '', os_version: o.systemInfo.osVersion ?? '' });
  if (o.controlResult) {
    const r = o.controlResult;
    Object.assign(d, { ok: !o.error?.code && (r.ok ?? false), target: r.target ?? '', action: r.action ?? '', detail: r.detail ?? '' });
  }
  return d;
}

export function switchRequestDetails(s: guruconnect.ISwitchSession): Record<string, unknown> {
  return { from_session: s.fromSessionId ?? 0, to_session: s.targetSessionId ?? 0, viewer_id: s.viewerId ?? '' };
}

export function switchOutcomeDetails(s: guruconnect.ISessionSwitched): Record<string, unknown> {
  const d: Record<string, unknown> = {
    ok: s.ok ?? false,
    from_session: s.fromSessionId ?? 0,
    to_session: s.toSessionId ?? 0,
    viewer_id: s.viewerId ?? '',
    duration_ms: Number(s.durationMs ?? 0),
    epoch: s.epoch ?? 0,
  };
  if (s.error?.code) Object.assign(d, { error_code: s.error.code, error_message: s.error.message ?? '' });
  return d;
}
