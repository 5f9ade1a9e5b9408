/** The machines page's side panel: one machine's facts, its logged-on users and its sessions. */
import { h, replaceChildren } from '../dom.js';
import { ago, dateTime } from '../format.js';
import { sessionFacts } from '../session-facts.js';
import type { MachineDto, WindowsSessionDto } from '../types.js';

/** Draws `m` (or the empty state) into `panel`; `sessions` undefined means still loading. */
export function drawMachineDetail(panel: HTMLElement, m: MachineDto | undefined, sessions: WindowsSessionDto[] | undefined, showSessions: (m: MachineDto) => void): void {
  if (!m) {
    replaceChildren(panel, h('p', { class: 'muted' }, 'Select a machine to see its details.'));
    return;
  }
  const row = (k: string, v: string | Node) => [h('dt', null, k), h('dd', null, v)];
  replaceChildren(
    panel,
    h('h2', null, m.hostname),
    h(
      'dl',
      { class: 'kv' },
      row('Status', m.online ? 'Online' : 'Offline'),
      row('Last seen', `${dateTime(m.last_seen)} (${ago(m.last_seen)})`),
      row('Agent ID', h('code', null, m.agent_id)),
      row('OS', m.os_version || '—'),
      row('Platform', m.platform || '—'),
      row('Agent version', m.agent_version || '—'),
      row('Elevated', m.elevated ? 'yes' : 'no (session switching needs an elevated agent)'),
      row('Captured session', m.current_session_id ? String(m.current_session_id) : 'none'),
      row('Sessions', String(m.session_count)),
    ),
    h('h3', null, 'Logged-on users'),
    m.users.length ? h('ul', { class: 'user-list', 'data-testid': 'detail-users' }, ...m.users.map((u) => h('li', null, u))) : h('p', { class: 'muted' }, 'Nobody is logged on.'),
    h('h3', null, 'Sessions'),
    sessionList(sessions),
    h(
      'div',
      { class: 'detail-actions' },
      h('a', { class: 'btn btn-primary', href: `/machines/${encodeURIComponent(m.agent_id)}`, 'data-link': true }, 'Connect'),
      h('button', { class: 'btn', onclick: () => showSessions(m) }, `Sessions (${m.session_count})`),
    ),
  );
}

function sessionList(list: WindowsSessionDto[] | undefined): HTMLElement {
  if (!list) return h('p', { class: 'muted' }, 'Loading sessions…');
  if (!list.length) return h('p', { class: 'muted' }, 'No user sessions.');
  return h(
    'ul',
    { class: 'session-list', 'data-testid': 'detail-sessions' },
    ...list.map((s) => {
      const f = sessionFacts(s);
      return h(
        'li',
        { 'data-session-id': s.id, 'data-user': s.user },
        h('strong', null, s.user || '—'),
        ` #${s.id} · ${s.state} · ${s.type}`,
        s.station ? h('span', { class: 'mono muted' }, ` ${s.station}`) : null,
        h(
          'span',
          { class: 'facts' },
          h('span', { 'data-fact': 'logon' }, f.logon),
          ' · ',
          h('span', { 'data-fact': 'idle' }, f.idle),
          f.locked ? [' · ', h('span', { class: 'badge badge-muted', 'data-fact': 'locked' }, 'locked')] : null,
          f.client ? [' · ', h('span', { 'data-fact': 'client' }, f.client)] : null,
        ),
      );
    }),
  );
}
