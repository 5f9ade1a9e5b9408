/** Backstage mode: terminal, services, processes and system info for the services session (admin only). */
import { confirmDialog } from '../dialog.js';
import { h, replaceChildren } from '../dom.js';
import { duration, kb, reqId } from '../format.js';
import { toast, toastError } from '../toast.js';
import type { ServerMessage, WindowsSessionDto } from '../types.js';
import type { ClientMessage } from '../viewer/viewer-connection.js';
import { type ProcessRow, type ServiceRow, processRow, serviceRow, systemRow } from './backstage-data.js';
import { createDataTable } from './data-table.js';
import { type PtyTerminal, createPtyTerminal } from './pty-terminal.js';
import { type BackstageTerminal, type Job, createTerminal } from './terminal.js';

export interface BackstageView {
  readonly el: HTMLElement;
  /** Handles a backstage.* or error message; true when it was for this view. */
  handle(m: ServerMessage): boolean;
  shown(): void;
  /** The machine's sessions changed: the "Run as" choices follow. */
  setSessions(sessions: WindowsSessionDto[]): void;
  /** The Commands terminal, except text(): the terminal of the mode on screen. */
  readonly terminal: BackstageTerminal;
  readonly terminalMode: TerminalMode;
  dispose(): void;
}

type Tab = 'terminal' | 'services' | 'processes';
/** Commands: one command per Enter, no state kept. Interactive shell: a pty kept across commands. */
export type TerminalMode = 'commands' | 'shell';

/** Builds the view; `send` writes to the viewer socket, `exit` leaves backstage. */
export function createBackstageView(opts: { host: string; send(m: ClientMessage): boolean; exit(): void }): BackstageView {
  const pending = new Map<string, 'services' | 'processes' | 'system' | 'control' | 'kill'>();
  const request = (kind: 'services' | 'processes' | 'system', extra: Record<string, unknown> = {}) => {
    const req = reqId(kind);
    pending.set(req, kind);
    opts.send({ t: `backstage.${kind}`, req, ...extra } as ClientMessage);
    return req;
  };

  // ---- terminal
  const termEl = h('div', { class: 'terminal', 'data-testid': 'terminal' });
  const ptyEl = h('div', { class: 'terminal', 'data-testid': 'pty-terminal', hidden: true });
  let termMode: TerminalMode = 'commands';
  const modeButtons = new Map<TerminalMode, HTMLButtonElement>();
  const modeToggle = h(
    'div',
    { class: 'btn-group', role: 'group', 'aria-label': 'Terminal mode', 'data-testid': 'terminal-mode' },
    ...(
      [
        ['commands', 'Commands'],
        ['shell', 'Interactive shell'],
      ] as const
    ).map(([m, label]) => {
      const b = h('button', { 'data-mode': m, 'aria-pressed': String(m === termMode), class: m === termMode ? 'btn btn-xs btn-pressed' : 'btn btn-xs', onclick: () => setTermMode(m) }, label);
      modeButtons.set(m, b);
      return b;
    }),
  );
  const shellBtn = h(
    'button',
    { class: 'btn btn-xs btn-danger-outline', 'data-action': 'close-shell', hidden: true, title: 'End the shell and everything it started', onclick: () => pty.close() },
    'End shell',
  );
  const setTermMode = (m: TerminalMode) => {
    termMode = m;
    for (const [k, b] of modeButtons) {
      b.classList.toggle('active', k === m);
      b.setAttribute('aria-pressed', String(k === m));
      // The accent marks the terminal mode in use (a class: the CSP allows no style attributes of ours).
      b.classList.toggle('btn-pressed', k === m);
    }
    termEl.hidden = m !== 'commands';
    ptyEl.hidden = m !== 'shell';
    jobsEl.hidden = m !== 'commands' || terminal.jobs.length === 0;
    shellBtn.hidden = m !== 'shell' || pty.state === 'idle';
    const active = m === 'shell' ? pty : terminal;
    active.fit();
    if (m === 'shell') pty.start();
    active.focus();
  };
  // Session 0 runs as the agent's own account; any other id runs in that session as its user.
  let runAsChoices: { id: number; user: string }[] = [];
  const runAs = h('select', { id: 'run-as', class: 'select select-sm', 'data-testid': 'run-as', 'aria-label': 'Run as', onchange: () => runAsChanged() });
  const runAsUser = () => runAsChoices.find((c) => c.id === Number(runAs.value))?.user;
  const runAsBadge = h('span', { class: 'badge badge-backstage', 'data-testid': 'run-as-badge' }, 'Backstage · Session 0');
  const runAsChanged = () => {
    const id = Number(runAs.value);
    runAsBadge.textContent = id === 0 ? 'Backstage · Session 0' : `Backstage · as ${runAsUser() ?? '?'} (session ${id})`;
    terminal.focus();
  };
  const drawRunAs = () => {
    const keep = runAs.value || '0';
    replaceChildren(runAs, h('option', { value: 0 }, 'Session 0 · agent account'), ...runAsChoices.map((c) => h('option', { value: c.id }, `#${c.id} · ${c.user}`)));
    runAs.value = runAsChoices.some((c) => String(c.id) === keep) ? keep : '0';
    if (runAs.value !== keep) runAsChanged();
  };
  const jobsEl = h('ul', { class: 'jobs', 'data-testid': 'jobs' });
  const drawJobs = (jobs: Job[]) => {
    replaceChildren(
      jobsEl,
      ...jobs.map((j) =>
        h(
          'li',
          { 'data-job-id': j.id, 'data-job-n': j.n, class: j.background ? 'job job-bg' : 'job' },
          h('span', { class: 'mono' }, `[${j.n}] ${j.command}`),
          h('span', { class: 'muted' }, j.background ? ' background' : ' foreground'),
          h('button', { class: 'btn btn-xs btn-danger-outline', 'data-action': 'cancel-job', title: `Cancel [${j.n}]`, onclick: () => terminal.cancel(j.id) }, 'Cancel'),
        ),
      ),
    );
    jobsEl.hidden = jobs.length === 0 || termMode !== 'commands';
  };
  drawRunAs();
  drawJobs([]);
  // ---- services
  const svcInfo = h('span', { class: 'muted' });
  const svcFilter = h('input', { class: 'input', type: 'search', placeholder: 'Filter services', 'data-testid': 'services-filter', oninput: () => services.setFilter(svcFilter.value) });
  const control = async (s: ServiceRow, action: 'start' | 'stop' | 'restart') => {
    if (
      !(await confirmDialog(
        `${action[0]!.toUpperCase()}${action.slice(1)} service`,
        h('span', null, `${action} `, h('strong', null, s.name), ` on ${opts.host}? This is recorded in the audit log.`),
        action[0]!.toUpperCase() + action.slice(1),
      ))
    )
      return;
    const req = reqId('ctl');
    pending.set(req, 'control');
    opts.send({ t: 'backstage.service_control', req, name: s.name, action });
  };
  const services = createDataTable<ServiceRow>({
    testId: 'services-table',
    columns: [
      { key: 'name', label: 'Name', value: (s) => s.name, render: (s) => h('span', { class: 'mono' }, s.name) },
      { key: 'display', label: 'Display name', value: (s) => s.displayName },
      { key: 'status', label: 'Status', value: (s) => s.status, render: (s) => h('span', { class: `badge badge-svc-${s.status.toLowerCase()}` }, s.status) },
      { key: 'startup', label: 'Startup', value: (s) => s.startupType },
      { key: 'pid', label: 'PID', value: (s) => s.pid, numeric: true, render: (s) => (s.pid ? String(s.pid) : '') },
    ],
    actions: (s) =>
      h(
        'span',
        { class: 'btn-group' },
        s.status !== 'Running' ? h('button', { class: 'btn btn-xs', onclick: () => void control(s, 'start') }, 'Start') : null,
        s.status === 'Running' ? h('button', { class: 'btn btn-xs', onclick: () => void control(s, 'stop') }, 'Stop') : null,
        s.status === 'Running' ? h('button', { class: 'btn btn-xs', onclick: () => void control(s, 'restart') }, 'Restart') : null,
      ),
  });
  // ---- processes
  let sampled = false;
  // CPU % needs two samples of /proc (half a second on the agent): on by default, off for a faster list.
  const cpuBox = h('input', { type: 'checkbox', id: 'cpu-sample', checked: true, 'data-testid': 'cpu-sample' });
  const procInfo = h('span', { class: 'muted' });
  const procFilter = h('input', { class: 'input', type: 'search', placeholder: 'Filter processes', 'data-testid': 'processes-filter', oninput: () => processes.setFilter(procFilter.value) });
  const kill = async (p: ProcessRow) => {
    if (!(await confirmDialog('End process', h('span', null, 'End ', h('strong', null, `${p.name} (PID ${p.pid})`), ` and its child processes on ${opts.host}?`), 'End process'))) return;
    const req = reqId('kill');
    pending.set(req, 'kill');
    opts.send({ t: 'backstage.kill', req, pid: p.pid });
  };
  const processes = createDataTable<ProcessRow>({
    testId: 'processes-table',
    initialSort: { key: 'mem', desc: true },
    columns: [
      { key: 'pid', label: 'PID', value: (p) => p.pid, numeric: true },
      { key: 'name', label: 'Name', value: (p) => p.name, render: (p) => h('span', { title: p.commandLine }, p.name) },
      { key: 'user', label: 'User', value: (p) => p.user },
      { key: 'cpu', label: 'CPU %', value: (p) => p.cpuPercent, numeric: true, hidden: () => !sampled, render: (p) => (p.cpuPercent >= 0 ? p.cpuPercent.toFixed(1) : '') },
      { key: 'mem', label: 'Memory', value: (p) => p.memoryKb, numeric: true, render: (p) => kb(p.memoryKb) },
      { key: 'ppid', label: 'Parent', value: (p) => p.parentPid, numeric: true },
      { key: 'session', label: 'Session', value: (p) => p.sessionId, numeric: true },
      { key: 'cmd', label: 'Command line', value: (p) => p.commandLine, render: (p) => h('span', { class: 'mono ellipsis', title: p.commandLine }, p.commandLine) },
    ],
    actions: (p) => h('button', { class: 'btn btn-xs btn-danger-outline', onclick: () => void kill(p) }, 'End'),
  });
  // ---- system
  const sysBody = h('div', { class: 'sys-body', 'data-testid': 'system-info' }, h('p', { class: 'muted' }, 'Loading…'));

  const panes: Record<Tab, HTMLElement> = {
    terminal: h(
      'section',
      { class: 'pane pane-terminal' },
      h('div', { class: 'pane-toolbar' }, modeToggle, h('label', { class: 'toolbar-label', for: 'run-as' }, 'Run as'), runAs, jobsEl, shellBtn),
      termEl,
      ptyEl,
    ),
    services: h(
      'section',
      { class: 'pane' },
      h('div', { class: 'pane-toolbar' }, svcFilter, h('button', { class: 'btn btn-sm', 'data-action': 'refresh-services', onclick: () => request('services') }, 'Refresh'), svcInfo),
      services.el,
    ),
    processes: h(
      'section',
      { class: 'pane' },
      h(
        'div',
        { class: 'pane-toolbar' },
        procFilter,
        h('label', { class: 'check', for: 'cpu-sample' }, cpuBox, 'Sample CPU'),
        h('button', { class: 'btn btn-sm', 'data-action': 'refresh-processes', onclick: () => request('processes', { cpu: cpuBox.checked }) }, 'Refresh'),
        procInfo,
      ),
      processes.el,
    ),
  };
  const tabButtons = new Map<Tab, HTMLButtonElement>();
  let loaded: Record<Tab, boolean> = { terminal: true, services: false, processes: false };
  let terminal: BackstageTerminal;
  const select = (tab: Tab) => {
    for (const [t, b] of tabButtons) b.classList.toggle('active', t === tab);
    for (const [t, p] of Object.entries(panes)) p.hidden = t !== tab;
    if (!loaded[tab]) {
      loaded = { ...loaded, [tab]: true };
      request(tab === 'processes' ? 'processes' : 'services', tab === 'processes' ? { cpu: cpuBox.checked } : {});
    }
    if (tab === 'terminal') {
      const active = termMode === 'shell' ? pty : terminal;
      active.fit();
      active.focus();
    }
  };
  const tabs = h(
    'div',
    { class: 'tabs', role: 'tablist' },
    ...(['terminal', 'services', 'processes'] as const).map((t) => {
      const b = h('button', { class: 'tab', role: 'tab', 'data-tab': t, onclick: () => select(t) }, t[0]!.toUpperCase() + t.slice(1));
      tabButtons.set(t, b);
      return b;
    }),
  );

  const el = h(
    'div',
    { class: 'backstage', 'data-testid': 'backstage' },
    h(
      'div',
      { class: 'backstage-main' },
      h(
        'div',
        { class: 'backstage-head' },
        tabs,
        h('div', { class: 'spacer' }),
        runAsBadge,
        h('button', { class: 'btn btn-sm', 'data-action': 'exit-backstage', onclick: () => opts.exit() }, 'Exit backstage'),
      ),
      ...Object.values(panes),
    ),
    h(
      'aside',
      { class: 'backstage-side' },
      h('div', { class: 'side-head' }, h('h3', null, 'System'), h('button', { class: 'btn btn-xs', 'data-action': 'refresh-system', onclick: () => request('system') }, 'Refresh')),
      sysBody,
    ),
  );

  terminal = createTerminal(termEl, {
    host: opts.host,
    who: () => runAsUser() ?? 'backstage',
    exec: (id, command) => {
      const as = Number(runAs.value);
      return opts.send({ t: 'backstage.exec', id, command, ...(as ? { as_session_id: as } : {}) });
    },
    cancel: (id) => opts.send({ t: 'backstage.cancel', id }),
    jobsChanged: drawJobs,
  });
  const pty: PtyTerminal = createPtyTerminal(ptyEl, {
    send: opts.send,
    asSessionId: () => Number(runAs.value),
    stateChanged: (st) => {
      shellBtn.hidden = termMode !== 'shell' || st === 'idle';
    },
  });
  const ro = new ResizeObserver(() => (termMode === 'shell' ? pty.fit() : terminal.fit()));
  ro.observe(termEl);
  ro.observe(ptyEl);
  // Tests and the viewer read "the terminal": its text is the one on screen.
  const shown: BackstageTerminal = {
    get running() {
      return terminal.running;
    },
    get jobs() {
      return terminal.jobs;
    },
    cancel: (id) => terminal.cancel(id),
    chunk: (id, stream, data) => terminal.chunk(id, stream, data),
    done: (id, info, full) => terminal.done(id, info, full),
    failed: (id, code, message) => terminal.failed(id, code, message),
    text: () => (termMode === 'shell' ? pty.text() : terminal.text()),
    focus: () => (termMode === 'shell' ? pty.focus() : terminal.focus()),
    fit: () => (termMode === 'shell' ? pty.fit() : terminal.fit()),
    dispose: () => terminal.dispose(),
  };

  const drawSystem = (raw: unknown) => {
    const s = systemRow((raw ?? {}) as Record<string, unknown>);
    const used = s.memoryTotalKb - s.memoryFreeKb;
    const row = (k: string, v: string) => [h('dt', null, k), h('dd', null, v)];
    replaceChildren(
      sysBody,
      h(
        'dl',
        { class: 'kv kv-compact' },
        row('Hostname', s.hostname),
        row('OS', s.osVersion),
        row('Platform', `${s.platform} ${s.arch}`.trim()),
        row('CPUs', String(s.cpuCount)),
        row('Memory', s.memoryTotalKb ? `${kb(used)} of ${kb(s.memoryTotalKb)} used` : '—'),
        row('Uptime', duration(s.uptimeSecs)),
        row('Agent', s.agentVersion || '—'),
      ),
      s.memoryTotalKb ? h('div', { class: 'meter' }, meterFill(Math.round((used / s.memoryTotalKb) * 100))) : null,
      h('h4', null, `Logged-on sessions (${s.sessions.length})`),
      h(
        'ul',
        { class: 'sys-sessions' },
        ...s.sessions.map((x) =>
          h('li', null, h('strong', null, x.userName || '—'), ` #${x.sessionId} · ${x.state} · ${x.type}`, x.station ? h('span', { class: 'mono muted' }, ` ${x.station}`) : null),
        ),
      ),
    );
  };

  return {
    el,
    terminal: shown,
    get terminalMode() {
      return termMode;
    },
    shown() {
      select('terminal');
      // Back in backstage with the shell mode on screen: the old shell was closed on exit, start a new one.
      if (termMode === 'shell') pty.start();
      request('system');
    },
    setSessions(sessions) {
      runAsChoices = sessions.filter((s) => s.id !== 0 && s.user).map((s) => ({ id: s.id, user: s.user }));
      drawRunAs();
    },
    handle(m) {
      if (pty.handle(m)) return true;
      switch (m.t) {
        case 'backstage.chunk':
          terminal.chunk(m.id, m.stream, m.data);
          return true;
        case 'backstage.done':
          terminal.done(m.id, m, m as { stdout?: string; stderr?: string });
          return true;
        case 'backstage.services':
          pending.delete(m.req ?? '');
          svcInfo.textContent = m.available ? `${m.services.length} services` : `Not available: ${m.reason}`;
          // The agent answers from a cache it keeps fresh; say how fresh without changing the count's text.
          svcInfo.title = m.available ? `as of ${Math.round((m.age_ms ?? 0) / 1000)} s ago` : '';
          services.setRows(m.services.map((s) => serviceRow(s as Record<string, unknown>)));
          return true;
        case 'backstage.processes':
          pending.delete(m.req ?? '');
          sampled = m.processes.some((p) => processRow(p as Record<string, unknown>).cpuPercent >= 0) && cpuBox.checked;
          // A list too large for one message comes shortened: say so rather than show a partial list as whole.
          procInfo.textContent = `${m.processes.length} processes${m.omitted ? ` (${m.omitted} more not shown: too many for one message)` : ''}${m.command_lines_cut ? ', command lines shortened' : ''}`;
          processes.setRows(m.processes.map((p) => processRow(p as Record<string, unknown>)));
          return true;
        case 'backstage.system':
          pending.delete(m.req ?? '');
          drawSystem(m.system);
          return true;
        case 'backstage.control': {
          const kind = pending.get(m.req ?? '');
          pending.delete(m.req ?? '');
          const r = (m.result ?? {}) as { ok?: boolean; target?: string; action?: string; detail?: string };
          toast(`${r.action ?? 'action'} ${r.target ?? ''}: ${r.ok ? 'done' : 'failed'}${r.detail ? ` (${r.detail})` : ''}`, r.ok ? 'ok' : 'error');
          if (kind === 'kill') request('processes', { cpu: cpuBox.checked });
          else request('services');
          return true;
        }
        case 'error': {
          if (terminal.failed(m.req, m.error_code, m.message)) return true;
          if (m.req && pending.has(m.req)) {
            pending.delete(m.req);
            toastError(m);
            return true;
          }
          return false;
        }
        default:
          return false;
      }
    },
    dispose() {
      ro.disconnect();
      pty.dispose();
      terminal.dispose();
    },
  };
}

/** The filled part of a meter; its width set through the CSSOM, which the CSP allows (a style attribute it would not need to). */
function meterFill(percent: number): HTMLElement {
  const el = h('div', { class: 'meter-fill' });
  el.style.width = `${percent}%`;
  return el;
}
