/** The "Sessions (N)" modal: a machine's Windows sessions with a View button per capturable one; reloads while open. */
import { api } from '../api.js';
import { openModal } from '../dialog.js';
import { h } from '../dom.js';
import { dateTime, duration } from '../format.js';
import { navigate } from '../router.js';
import { logonText } from '../session-facts.js';
import type { MachineDto, WindowsSessionDto } from '../types.js';

export interface SessionsModal {
  /** Loads the list again (the machines page calls it on every live change). */
  reload(): Promise<void>;
  readonly open: boolean;
}

/** GET /api/machines/:id/windows-sessions. */
export function fetchSessions(agentId: string) {
  return api<{ sessions: WindowsSessionDto[] }>('GET', `/api/machines/${encodeURIComponent(agentId)}/windows-sessions`);
}

/** Opens the modal and loads the sessions. */
export function openSessionsModal(machine: MachineDto): SessionsModal {
  let isOpen = true;
  const m = openModal(`Sessions on ${machine.hostname}`, {
    wide: true,
    onClose: () => {
      isOpen = false;
    },
  });
  m.body.append(h('p', { class: 'muted' }, 'Loading sessions…'));
  const view = (s: WindowsSessionDto) => {
    m.close();
    navigate(`/machines/${encodeURIComponent(machine.agent_id)}?session=${s.id}`);
  };
  const reload = async () => {
    const r = await fetchSessions(machine.agent_id);
    if (!isOpen) return;
    m.body.replaceChildren();
    if (!r.ok) {
      m.body.append(h('p', { class: 'form-error' }, `${r.error.error_code}: ${r.error.message}`));
      return;
    }
    if (r.value.sessions.length === 0) {
      m.body.append(h('p', { class: 'muted' }, 'No user sessions. Backstage is still available to admins from the viewer.'));
      return;
    }
    m.body.append(
      h(
        'table',
        { class: 'table', 'data-testid': 'sessions-table' },
        h('thead', null, h('tr', null, ...['ID', 'User', 'State', 'Type', 'Station', 'Client', 'Address', 'Logon', 'Idle', 'Locked', ''].map((c) => h('th', null, c)))),
        h(
          'tbody',
          null,
          ...r.value.sessions.map((s) =>
            h(
              'tr',
              { 'data-session-id': s.id, 'data-user': s.user },
              h('td', { class: 'num' }, s.id),
              h('td', null, h('strong', null, s.domain ? `${s.domain}\\${s.user}` : s.user || '—')),
              h('td', null, h('span', { class: `badge badge-state-${s.state.toLowerCase()}` }, s.state)),
              h('td', null, s.type),
              h('td', { class: 'mono' }, s.station || '—'),
              h('td', { 'data-col': 'client-name' }, s.client_name || '—'),
              h('td', { class: 'mono', 'data-col': 'client-address' }, s.client_address || '—'),
              h('td', { 'data-col': 'logon', title: dateTime(s.logon_time) }, logonText(s.logon_time)),
              h('td', { 'data-col': 'idle' }, duration(s.idle_secs)),
              h('td', { 'data-col': 'locked' }, s.locked ? h('span', { class: 'badge badge-muted' }, 'locked') : 'no'),
              h(
                'td',
                { class: 'actions' },
                s.capturable
                  ? h('button', { class: 'btn btn-primary btn-sm', 'data-action': 'view-session', onclick: () => view(s) }, s.id === machine.current_session_id ? 'View' : 'Switch')
                  : h('span', { class: 'muted', title: 'No desktop to capture (text login)' }, 'no desktop'),
              ),
            ),
          ),
        ),
      ),
    );
  };
  void reload();
  return {
    reload,
    get open() {
      return isOpen;
    },
  };
}
