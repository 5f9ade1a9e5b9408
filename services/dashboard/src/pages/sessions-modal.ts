/** The "Sessions (N)" modal: a machine's Windows sessions with a View button per capturable one. */
import { api } from '../api.js';
import { openModal } from '../dialog.js';
import { h } from '../dom.js';
import { dateTime, duration } from '../format.js';
import { navigate } from '../router.js';
import type { MachineDto, WindowsSessionDto } from '../types.js';

/** Opens the modal and loads the sessions. */
export async function openSessionsModal(machine: MachineDto): Promise<void> {
  const m = openModal(`Sessions on ${machine.hostname}`, { wide: true });
  m.body.append(h('p', { class: 'muted' }, 'Loading sessions…'));
  const r = await api<{ sessions: WindowsSessionDto[] }>('GET', `/api/machines/${encodeURIComponent(machine.agent_id)}/windows-sessions`);
  m.body.replaceChildren();
  if (!r.ok) {
    m.body.append(h('p', { class: 'form-error' }, `${r.error.error_code}: ${r.error.message}`));
    return;
  }
  if (r.value.sessions.length === 0) {
    m.body.append(h('p', { class: 'muted' }, 'No user sessions. Backstage is still available to admins from the viewer.'));
    return;
  }
  const open = (s: WindowsSessionDto) => {
    m.close();
    navigate(`/machines/${encodeURIComponent(machine.agent_id)}?session=${s.id}`);
  };
  m.body.append(h('table', { class: 'table', 'data-testid': 'sessions-table' },
    h('thead', null, h('tr', null, ...['ID', 'User', 'State', 'Type', 'Station', 'Client', 'Address', 'Logon', 'Idle', ''].map((c) => h('th', null, c)))),
    h('tbody', null, ...r.value.sessions.map((s) => h('tr', { 'data-session-id': s.id },
      h('td', { class: 'num' }, s.id),
      h('td', null, h('strong', null, s.domain ? `${s.domain}\\${s.user}` : s.user || '—'), s.locked ? h('span', { class: 'badge badge-muted' }, 'locked') : null),
      h('td', null, h('span', { class: `badge badge-state-${s.state.toLowerCase()}` }, s.state)),
      h('td', null, s.type),
      h('td', { class: 'mono' }, s.station || '—'),
      h('td', null, s.client_name || '—'),
      h('td', { class: 'mono' }, s.client_address || '—'),
      h('td', null, dateTime(s.logon_time)),
      h('td', null, s.idle_secs ? duration(s.idle_secs) : '—'),
      h('td', { class: 'actions' }, s.capturable
        ? h('button', { class: 'btn btn-primary btn-sm', 'data-action': 'view-session', onclick: () => open(s) }, s.id === machine.current_session_id ? 'View' : 'Switch')
        : h('span', { class: 'muted', title: 'No desktop to capture (text login)' }, 'no desktop')))))));
}
