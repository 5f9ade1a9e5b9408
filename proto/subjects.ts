/**
 * The subject scheme: the only place a NATS subject string is built or parsed.
 * Each subject kind names the Message payload it must carry and whether the event stream stores it.
 */
import { ErrorCode, type Result, err, ok } from './errors.js';
import { type AgentId, checkSubjectToken } from './ids.js';

/** Payload case of `guruconnect.Message` (the oneof field names). */
export type PayloadCase =
  | 'agentStatus'
  | 'startStream'
  | 'stopStream'
  | 'videoFrame'
  | 'input'
  | 'requestSessions'
  | 'requestKeyframe'
  | 'audit'
  | 'error'
  | 'clipboardCleared'
  | 'sessionList'
  | 'switchSession'
  | 'backstageCommand'
  | 'backstageOutput'
  | 'sessionSwitched'
  | 'terminalOpen'
  | 'terminalInput'
  | 'terminalResize'
  | 'terminalClose'
  | 'terminalOutput';

export const AgentEvent = {
  status: { stored: true, suffix: 'status', payloads: ['agentStatus'] },
  sessions: { stored: true, suffix: 'sessions', payloads: ['sessionList'] },
  switched: { stored: true, suffix: 'switched', payloads: ['sessionSwitched'] },
  backstageOutput: { stored: true, suffix: 'backstage.output', payloads: ['backstageOutput'] },
  clipboard: { suffix: 'clipboard', payloads: ['clipboardCleared'], stored: false },
  /** Interactive terminal output: live only (it can carry secrets typed at prompts). */
  terminal: { suffix: 'terminal', payloads: ['terminalOutput'], stored: false },
} as const satisfies Record<string, { suffix: string; payloads: readonly PayloadCase[]; stored: boolean }>;
export type AgentEventKind = keyof typeof AgentEvent;

export const AgentCommand = {
  switchSession: { suffix: 'switch-session', payloads: ['switchSession'], stored: true },
  backstage: { suffix: 'backstage', payloads: ['backstageCommand'], stored: true },
  input: { suffix: 'input', payloads: ['input'], stored: false },
  stream: { suffix: 'stream', payloads: ['startStream', 'stopStream', 'requestKeyframe'], stored: false },
  requestSessions: { suffix: 'request-sessions', payloads: ['requestSessions'], stored: false },
  /** Interactive terminal: open, keystrokes, resize, close (live only; the gateway audits open/close). */
  terminal: { suffix: 'terminal', payloads: ['terminalOpen', 'terminalInput', 'terminalResize', 'terminalClose'], stored: false },
} as const satisfies Record<string, { suffix: string; payloads: readonly PayloadCase[]; stored: boolean }>;
export type AgentCommandKind = keyof typeof AgentCommand;

export const AUDIT_PREFIX = 'gc.audit';

/** Names of the JetStream streams and the subjects each one stores. */
export const Streams = {
  events: {
    name: 'GC_EVENTS',
    subjects: [
      ...Object.values(AgentEvent)
        .filter((e) => e.stored)
        .map((e) => `gc.agent.*.${e.suffix}`),
      ...Object.values(AgentCommand)
        .filter((c) => c.stored)
        .map((c) => `gc.cmd.*.${c.suffix}`),
      `${AUDIT_PREFIX}.>`,
    ],
  },
} as const;

function token(raw: string, what: string): string {
  const r = checkSubjectToken(raw, what);
  if (!r.ok) throw new SubjectError(r.error.message);
  return r.value;
}

/** Thrown only for programmer errors: callers validate ids at the edge with parseAgentId first. */
export class SubjectError extends Error {
  readonly code = ErrorCode.INVALID_ID;
}

export const subjects = {
  agentEvent: (agent: AgentId, kind: AgentEventKind) => `gc.agent.${token(agent, 'agent id')}.${AgentEvent[kind].suffix}`,
  /** All events of one agent, or of every agent with `*`. */
  agentEvents: (agent: AgentId | '*') => `gc.agent.${agent === '*' ? '*' : token(agent, 'agent id')}.>`,
  agentEventsOfKind: (kind: AgentEventKind) => `gc.agent.*.${AgentEvent[kind].suffix}`,
  /** Agent events whose kind is one token (status, sessions, switched): one 2.9 filter subject. */
  agentEventsOneToken: () => 'gc.agent.*.*',
  frame: (agent: AgentId, session: number) => `gc.frame.${token(agent, 'agent id')}.${sessionToken(session)}`,
  frames: (agent: AgentId) => `gc.frame.${token(agent, 'agent id')}.*`,
  command: (agent: AgentId, kind: AgentCommandKind) => `gc.cmd.${token(agent, 'agent id')}.${AgentCommand[kind].suffix}`,
  /** Everything an agent listens to. */
  commandsFor: (agent: AgentId) => `gc.cmd.${token(agent, 'agent id')}.>`,
  audit: (eventType: string) => `${AUDIT_PREFIX}.${token(eventType, 'audit event type')}`,
  allAudit: () => `${AUDIT_PREFIX}.>`,
  /** Every subject of one family, for permissions: every command, every agent event, every frame. */
  allCommands: () => 'gc.cmd.>',
  allAgentEvents: () => 'gc.agent.>',
  allFrames: () => 'gc.frame.>',
} as const;

/**
 * Inbox prefixes, disjoint by construction: services answer under `_INBOX.s.<kind>`, agents under
 * `_INBOX.a.<agentId>`, so no agent id (not even one named like a service) can reach a service's
 * replies. Readers live in their own account, where `_INBOX.r.<name>` keeps them apart.
 */
export const inboxes = {
  service: (kind: string) => `_INBOX.s.${token(kind, 'service kind')}`,
  agent: (agent: AgentId | string) => `_INBOX.a.${token(agent, 'agent id')}`,
  reader: (name: string) => `_INBOX.r.${token(name, 'reader name')}`,
} as const;

/**
 * The event stream's read-only API as the readers' account imports it: direct get by sequence and
 * stream info. Readers never reach the JetStream API itself, so they cannot create consumers (whose
 * deliver subject the server would publish to) or touch the projections' durables.
 */
export const EventsApi = {
  /** Inside the application account (trusted services). */
  direct: { info: `$JS.API.STREAM.INFO.${Streams.events.name}`, get: `$JS.API.DIRECT.GET.${Streams.events.name}` },
  /** As imported into the readers' account. */
  reader: { info: 'gc.read.events.info', get: 'gc.read.events.get' },
} as const;
export type EventsApiSubjects = (typeof EventsApi)[keyof typeof EventsApi];

/** Stored agent-event subjects (one wildcard agent token): what readers may hear live. */
export function storedAgentEventSubjects(agent: AgentId | '*' = '*'): string[] {
  const a = agent === '*' ? '*' : token(agent, 'agent id');
  return Object.values(AgentEvent)
    .filter((e) => e.stored)
    .map((e) => `gc.agent.${a}.${e.suffix}`);
}

/**
 * Event names an integration subscribes to: the stored agent events by their subject suffix, and
 * `audit` (technician actions). These are the names the CLI and the README use.
 */
export const integrationEventNames = [
  ...Object.values(AgentEvent)
    .filter((e) => e.stored)
    .map((e) => e.suffix),
  'audit',
] as const;

/** The subjects of `events` for `agents` ('*' = every agent); audit events are not per machine. */
export function integrationSubjects(agents: readonly string[] | '*', events: readonly string[]): Result<string[]> {
  // Ids come from a command line or an API: a bad one is an answer, never a throw.
  for (const a of agents === '*' ? [] : agents) {
    const id = checkSubjectToken(a, 'agent id');
    if (!id.ok) return id;
  }
  const unknown = events.filter((e) => !(integrationEventNames as readonly string[]).includes(e));
  if (unknown.length) return err(ErrorCode.VALIDATION_FAILED, `unknown event name ${unknown.join(', ')}; use any of ${integrationEventNames.join(', ')}`);
  if (events.includes('audit') && agents !== '*') return err(ErrorCode.VALIDATION_FAILED, "audit events are not per machine: use --agents '*' to include them, or leave audit out");
  const out: string[] = [];
  for (const e of events) {
    if (e === 'audit') {
      out.push(subjects.allAudit());
      continue;
    }
    for (const a of agents === '*' ? ['*'] : agents) out.push(`gc.agent.${a}.${e}`);
  }
  return ok(out);
}

function sessionToken(session: number): string {
  if (!Number.isInteger(session) || session < 0 || session > 0xffffffff) throw new SubjectError(`session id ${session} is not a uint32`);
  return String(session);
}

export type ParsedSubject =
  | { family: 'agent'; agentId: AgentId; kind: AgentEventKind }
  | { family: 'frame'; agentId: AgentId; sessionId: number }
  | { family: 'cmd'; agentId: AgentId; kind: AgentCommandKind }
  | { family: 'audit'; eventType: string };

const eventBySuffix = new Map<string, AgentEventKind>(Object.entries(AgentEvent).map(([k, v]) => [v.suffix, k as AgentEventKind]));
const commandBySuffix = new Map<string, AgentCommandKind>(Object.entries(AgentCommand).map(([k, v]) => [v.suffix, k as AgentCommandKind]));

/** Parses a concrete subject into what it addresses, or says why it is not one of ours. */
export function parseSubject(subject: string): Result<ParsedSubject> {
  const parts = subject.split('.');
  const bad = (why: string) => err(ErrorCode.INVALID_ID, `subject "${subject}": ${why}`);
  if (parts[0] !== 'gc' || parts.length < 3) return bad('not a gc.* subject');
  const [, family, id, ...rest] = parts as [string, string, string, ...string[]];
  if (family === 'audit') {
    if (rest.length !== 0) return bad('audit subjects have one event-type token');
    const t = checkSubjectToken(id, 'audit event type');
    return t.ok ? ok({ family, eventType: t.value }) : t;
  }
  const agent = checkSubjectToken(id, 'agent id');
  if (!agent.ok) return agent;
  const agentId = agent.value as AgentId;
  const suffix = rest.join('.');
  if (family === 'agent') {
    const kind = eventBySuffix.get(suffix);
    return kind ? ok({ family, agentId, kind }) : bad(`unknown agent event "${suffix}"`);
  }
  if (family === 'cmd') {
    const kind = commandBySuffix.get(suffix);
    return kind ? ok({ family, agentId, kind }) : bad(`unknown command "${suffix}"`);
  }
  if (family === 'frame') {
    if (!/^\d{1,10}$/.test(suffix) || Number(suffix) > 0xffffffff) return bad('frame subjects end in a session id');
    return ok({ family, agentId, sessionId: Number(suffix) });
  }
  return bad(`unknown family "${family}"`);
}

/** The payload cases a message on this subject may carry. */
export function payloadsFor(parsed: ParsedSubject): readonly PayloadCase[] {
  switch (parsed.family) {
    case 'agent':
      return AgentEvent[parsed.kind].payloads;
    case 'cmd':
      return AgentCommand[parsed.kind].payloads;
    case 'frame':
      return ['videoFrame'];
    case 'audit':
      return ['audit'];
  }
}
