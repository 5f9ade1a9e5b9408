/**
 * The viewer: one WebSocket for the whole visit. Session switches and backstage are messages on
 * that socket, never a reconnect. Tests read state through window.__gcViewer.
 */
import { api } from '../api.js';
import { createBackstageView, type BackstageView } from '../backstage/backstage-view.js';
import { h, replaceChildren } from '../dom.js';
import { reqId, toNumber } from '../format.js';
import { shell } from '../layout.js';
import { sessionFacts, sessionFactsLine } from '../session-facts.js';
import { toast, toastError } from '../toast.js';
import type { MachineDto, Role, ServerMessage, WindowsSessionDto } from '../types.js';
import { type PaintStats, createFramePainter } from './frame-painter.js';
import { captureInput } from './input-capture.js';
import { openViewerConnection } from './viewer-connection.js';

export interface ViewerTestHooks {
  readonly socketId: string;
  readonly viewerId: string | undefined;
  readonly framesPainted: number;
  readonly currentSession: number | undefined;
  readonly mode: 'screen' | 'backstage';
  readonly canvasSize: { width: number; height: number };
  readonly errors: { error_code: string; message: string }[];
  readonly connected: boolean;
  lastPixel(x: number, y: number): [number, number, number, number];
  terminalText(): string;
  /** Painted-frame latency and size samples. */
  readonly paint: PaintStats;
  /** Per completed switch: time from sending {t:'switch'} to the first painted frame of the new session (ackMs: to the "switched"/"watching" answer). */
  readonly switchTimes: { to: number; ms: number; ackMs: number | undefined }[];
  /** Switches as the session selector does (control viewers: {t:'switch'}; view-only: a new watch). */
  switchTo(sessionId: number): void;
  /** Keyframes asked for because no frame came within FIRST_FRAME_NUDGE_MS of a watch or switch (0 when the server delivered on its own). */
  readonly keyframeNudges: number;
  /** Date.now() of the last "watching" message. */
  readonly watchingAt: number | undefined;
}

declare global {
  interface Window {
    __gcViewer?: ViewerTestHooks;
  }
}

const label = (s: WindowsSessionDto) => `${s.user || '(nobody)'} — ${s.state} — ${s.type} · ${sessionFactsLine(s)}`;
/** Without a painted frame this long after watching, ask again for a keyframe (a lost one would otherwise never be replaced on a static screen). */
const FIRST_FRAME_NUDGE_MS = 2500;
/** While the machine is offline or the watch failed, try again this often. */
const REWATCH_MS = 3000;

/** Renders /machines/:agentId. */
export function viewerPage(root: HTMLElement, params: Record<string, string>, query: URLSearchParams): () => void {
  const agentId = params['agentId'] ?? '';
  const main = shell(root, 'viewer');
  // The button appears only once the socket said hello: a click before that would go nowhere.
  let role: Role | undefined;
  let viewerId: string | undefined;
  let sessions: WindowsSessionDto[] = [];
  let current: number | undefined;
  let control = false;
  let mode: 'screen' | 'backstage' = 'screen';
  let connected = false;
  let pendingSwitch: { req: string; to: number } | undefined;
  // When the last switch was sent, to time it up to its first painted frame.
  let switchClock: { to: number; sentAt: number; ackAt?: number } | undefined;
  const switchTimes: { to: number; ms: number; ackMs: number | undefined }[] = [];
  // A watch the server refused (offline, unknown session yet) is retried, not left on an overlay.
  let watchFailed = false;
  let awaitingFirstFrame = false;
  let keyframeNudges = 0;
  let watchingAt: number | undefined;
  let backstage: BackstageView | undefined;
  const errors: { error_code: string; message: string }[] = [];
  const wanted = Number(query.get('session') ?? '') || undefined;

  const hostEl = h('span', { class: 'viewer-host' }, agentId);
  const connEl = h('span', { class: 'conn conn-wait', 'data-testid': 'connection' }, 'Connecting…');
  const select = h('select', { class: 'select', 'data-testid': 'session-select', 'aria-label': 'Session', disabled: true });
  const currentEl = h('span', { class: 'current-session', 'data-testid': 'current-session' }, '—');
  const factsEl = h('span', { class: 'session-facts muted', 'data-testid': 'session-facts' });
  const viewOnly = h('span', { class: 'badge badge-viewonly', 'data-testid': 'view-only', hidden: true }, 'View only');
  const enterBtn = h('button', { class: 'btn btn-sm btn-dark', 'data-action': 'enter-backstage', hidden: true }, 'Enter Backstage');
  const keyBtn = h('button', { class: 'btn btn-sm', title: 'Ask for a full frame', 'data-action': 'keyframe' }, 'Refresh');
  const canvas = h('canvas', { class: 'screen', width: 0, height: 0, tabindex: 0, 'data-testid': 'screen' });
  const overlay = h('div', { class: 'overlay' }, 'Connecting…');
  const stage = h('div', { class: 'stage' }, canvas, overlay);
  const backstageHost = h('div', { class: 'backstage-host', hidden: true });
  const toolbar = h(
    'div',
    { class: 'viewer-toolbar' },
    h('a', { class: 'btn btn-sm btn-ghost', href: '/', 'data-link': true }, '← Machines'),
    hostEl,
    connEl,
    h('span', { class: 'sep' }),
    h('label', { class: 'toolbar-label' }, 'Session'),
    select,
    currentEl,
    factsEl,
    viewOnly,
    h('div', { class: 'spacer' }),
    keyBtn,
    enterBtn,
  );
  main.append(toolbar, stage, backstageHost);

  const setOverlay = (text: string | null) => {
    overlay.hidden = text === null;
    overlay.textContent = text ?? '';
  };
  const painter = createFramePainter(canvas, {
    needKeyframe: (behind) => conn.send(behind ? { t: 'keyframe', behind } : { t: 'keyframe' }),
    received: () => conn.send({ t: 'ack', frames: 1 }),
    painted: (f) => {
      awaitingFirstFrame = false;
      if (switchClock && f.sessionId === switchClock.to) {
        switchTimes.push({ to: f.sessionId, ms: Date.now() - switchClock.sentAt, ackMs: switchClock.ackAt === undefined ? undefined : switchClock.ackAt - switchClock.sentAt });
        if (switchTimes.length > 1000) switchTimes.shift();
        switchClock = undefined;
      }
      if (!overlay.hidden) setOverlay(null);
    },
  });

  const drawSessions = () => {
    replaceChildren(
      select,
      ...sessions.map((s) => h('option', { value: s.id, disabled: !s.capturable, selected: s.id === (pendingSwitch?.to ?? current) }, `#${s.id} ${label(s)}${s.capturable ? '' : ' (no desktop)'}`)),
    );
    select.disabled = mode !== 'screen' || sessions.length === 0 || !!pendingSwitch;
    const s = sessions.find((x) => x.id === current);
    currentEl.textContent = current === undefined ? 'not watching' : `Viewing #${current}${s ? ` · ${s.user}` : ''}`;
    currentEl.dataset['session'] = current === undefined ? '' : String(current);
    drawFacts(s);
  };
  const drawFacts = (s: WindowsSessionDto | undefined) => {
    if (!s) return replaceChildren(factsEl);
    const f = sessionFacts(s);
    replaceChildren(
      factsEl,
      h('span', { 'data-fact': 'logon' }, f.logon),
      ' · ',
      h('span', { 'data-fact': 'idle' }, f.idle),
      f.locked ? [' · ', h('span', { class: 'badge badge-muted', 'data-fact': 'locked' }, 'locked')] : null,
      f.client ? [' · ', h('span', { 'data-fact': 'client' }, f.client)] : null,
    );
  };
  const setMode = (m: 'screen' | 'backstage') => {
    mode = m;
    stage.hidden = m !== 'screen';
    backstageHost.hidden = m !== 'backstage';
    keyBtn.hidden = m !== 'screen';
    // In backstage the exit button lives in the backstage header.
    enterBtn.hidden = role !== 'admin' || m !== 'screen';
    drawSessions();
  };
  const watch = (sessionId?: number) => {
    setOverlay('Waiting for the first frame…');
    watchFailed = false;
    awaitingFirstFrame = true;
    wantedSession = sessionId;
    conn.send({ t: 'watch', ...(sessionId !== undefined ? { session_id: sessionId } : {}) });
  };
  let wantedSession: number | undefined = wanted;
  // One timer for both recoveries: a refused watch is sent again, a watch without a first frame asks for a keyframe.
  let lastNudge = Date.now();
  const nudge = setInterval(() => {
    if (!connected || mode !== 'screen') return;
    const now = Date.now();
    if (watchFailed && now - lastNudge >= REWATCH_MS) {
      lastNudge = now;
      watch(wantedSession);
    } else if (awaitingFirstFrame && current !== undefined && now - lastNudge >= FIRST_FRAME_NUDGE_MS) {
      lastNudge = now;
      keyframeNudges++;
      conn.send({ t: 'keyframe' });
    }
  }, 500);
  const requestSwitch = (to: number) => {
    if (to === current || mode !== 'screen') return;
    if (control) {
      pendingSwitch = { req: reqId('sw'), to };
      switchClock = { to, sentAt: Date.now() };
      conn.send({ t: 'switch', session_id: to, req: pendingSwitch.req });
    } else {
      // A view-only technician may watch another session but not move the agent's capture.
      switchClock = { to, sentAt: Date.now() };
      watch(to);
    }
    drawSessions();
  };

  const onMessage = (m: ServerMessage) => {
    if ((m.t.startsWith('backstage.') || m.t.startsWith('terminal.')) && backstage?.handle(m)) {
      if (m.t !== 'backstage.entered' && m.t !== 'backstage.exited') return;
    }
    switch (m.t) {
      case 'hello':
        viewerId = m.viewer_id;
        role = m.role;
        enterBtn.hidden = role !== 'admin' || mode !== 'screen';
        return;
      case 'sessions':
        sessions = m.sessions;
        backstage?.setSessions(sessions);
        if (!m.online) setOverlay('The machine is offline. The view resumes when its agent reconnects.');
        else if (watchFailed && mode === 'screen') watch(wantedSession);
        drawSessions();
        return;
      case 'watching':
        watchFailed = false;
        lastNudge = Date.now();
        watchingAt = lastNudge;
        if (switchClock?.to === m.session_id) switchClock.ackAt = lastNudge;
        current = m.session_id;
        control = m.control;
        painter.expect(m.session_id);
        viewOnly.hidden = control;
        drawSessions();
        return;
      case 'switched': {
        const was = current;
        current = m.to;
        painter.expect(m.to);
        if (pendingSwitch?.req === m.req) pendingSwitch = undefined;
        awaitingFirstFrame = !m.noop;
        lastNudge = Date.now();
        drawSessions();
        if (switchClock?.to === m.to) switchClock.ackAt = Date.now();
        if (m.noop) switchClock = undefined;
        else {
          setOverlay('Switching…');
          // No keyframe request: the gateway subscribed before the switch and holds the agent's first one.
          toast(`Switched from session ${was ?? m.from} to ${m.to}${toNumber(m.duration_ms) ? ` in ${toNumber(m.duration_ms)} ms` : ''}`, 'ok');
        }
        return;
      }
      case 'backstage.entered':
        painter.expect(-1);
        current = undefined;
        if (!backstage) {
          backstage = createBackstageView({ host: hostEl.textContent || agentId, send: (x) => conn.send(x), exit: () => conn.send({ t: 'backstage.exit' }) });
          backstageHost.append(backstage.el);
        }
        backstage.setSessions(sessions);
        setMode('backstage');
        backstage.shown();
        return;
      case 'backstage.exited':
        setMode('screen');
        watch(lastScreenSession);
        return;
      case 'error':
        errors.push({ error_code: m.error_code, message: m.message });
        if (backstage?.handle(m)) return;
        if (pendingSwitch && m.req === pendingSwitch.req) {
          pendingSwitch = undefined;
          switchClock = undefined;
        }
        drawSessions();
        toastError(m);
        if (current === undefined && (m.error_code === 'AGENT_OFFLINE' || m.error_code === 'SESSION_NOT_FOUND')) {
          // Not watching anything yet: retried when the machine or the session list comes back.
          watchFailed = true;
          awaitingFirstFrame = false;
          lastNudge = Date.now();
          setOverlay(`${m.error_code}: ${m.message} Retrying…`);
        }
        return;
      default:
        return;
    }
  };

  let lastScreenSession: number | undefined = wanted;
  const conn = openViewerConnection(agentId, {
    open: () => {
      connected = true;
      connEl.className = 'conn conn-ok';
      connEl.textContent = 'Connected';
      // "This page acknowledges frames": the gateway's flow control holds from the first frame on.
      conn.send({ t: 'ack', frames: 0 });
      watch(wanted);
    },
    message: onMessage,
    frame: (data) => painter.push(data),
    closed: (code, reason) => {
      connected = false;
      connEl.className = 'conn conn-down';
      connEl.textContent = 'Disconnected';
      setOverlay(`Connection closed (${code}${reason ? `: ${reason}` : ''}). Reload the page to reconnect.`);
    },
  });

  select.addEventListener('change', () => requestSwitch(Number(select.value)));
  enterBtn.addEventListener('click', () => {
    lastScreenSession = current;
    conn.send({ t: 'backstage.enter' });
  });
  keyBtn.addEventListener('click', () => conn.send({ t: 'keyframe' }));
  const stopInput = captureInput(canvas, () => control && mode === 'screen' && current !== undefined, {
    mouse: (mouse) => current !== undefined && conn.send({ t: 'input', session_id: current, mouse }),
    key: (key) => current !== undefined && conn.send({ t: 'input', session_id: current, key }),
  });

  void api<MachineDto>('GET', `/api/machines/${encodeURIComponent(agentId)}`).then((r) => {
    if (r.ok) {
      hostEl.textContent = r.value.hostname;
      hostEl.title = `${r.value.agent_id} · ${r.value.os_version}`;
      document.title = `${r.value.hostname} · GuruConnect`;
    }
  });

  window.__gcViewer = {
    socketId: conn.socketId,
    get viewerId() {
      return viewerId;
    },
    get framesPainted() {
      return painter.framesPainted;
    },
    get currentSession() {
      return current;
    },
    get mode() {
      return mode;
    },
    get canvasSize() {
      return { width: canvas.width, height: canvas.height };
    },
    get connected() {
      return connected;
    },
    errors,
    lastPixel: (x, y) => painter.pixel(x, y),
    terminalText: () => backstage?.terminal.text() ?? '',
    paint: painter.stats,
    switchTimes,
    switchTo: (id) => requestSwitch(id),
    get keyframeNudges() {
      return keyframeNudges;
    },
    get watchingAt() {
      return watchingAt;
    },
  };
  setMode('screen');

  return () => {
    clearInterval(nudge);
    stopInput();
    conn.close();
    backstage?.dispose();
    delete window.__gcViewer;
    document.title = 'GuruConnect';
  };
}
