/** Machines list: online status, sessions and users, kept current by /ws/live without reloading. */
import { api } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { ago, dateTime } from '../format.js';
import { shell } from '../layout.js';
import { connectLive } from '../live-client.js';
import { toastError } from '../toast.js';
import { sessionFacts } from '../session-facts.js';
import type { MachineDto, WindowsSessionDto } from '../types.js';
import { currentUser, hasRole } from '../session.js';
import { openEnrollDialog } from './enroll-dialog.js';
import { type SessionsModal, fetchSessions, openSessionsModal } from './sessions-modal.js';

/** Renders the machines page. */
export function machinesPage(root: HTMLElement): () => void {
  const main = shell(root, 'machines');
  let machines: MachineDto[] = [];
  let selected: string | undefined;
  let filter = '';
  let lastError = '';
  let modal: SessionsModal | undefined;
  // Sessions of the selected machine (logon, idle, lock, client), reloaded with every live change.
  let detailSessions: { agentId: string; sessions: WindowsSessionDto[] } | undefined;
  const showSessions = (m: MachineDto) => {
    modal = openSessionsModal(m);
  };
  const liveDot = h('span', { class: 'live-dot', title: 'Live updates' });
  const count = h('span', { class: 'muted' });
  const search = h('input', {
    class: 'input',
    type: 'search',
    placeholder: 'Filter by host, agent, user…',
    oninput: () => {
      filter = search.value.toLowerCase();
      draw();
    },
  });
  const tbody = h('tbody');
  const detail = h('aside', { class: 'detail-panel', 'data-testid': 'machine-detail' });
  main.append(
    h(
      'div',
      { class: 'page-head' },
      h('h1', null, 'Machines'),
      count,
      h('div', { class: 'spacer' }),
      search,
      h('span', { class: 'live' }, liveDot, 'Live'),
      hasRole(currentUser(), 'admin') ? h('button', { class: 'btn', 'data-action': 'add-machine', onclick: openEnrollDialog }, 'Add machine') : '',
    ),
    h(
      'div',
      { class: 'split' },
      h(
        'div',
        { class: 'card table-wrap' },
        h(
          'table',
          { class: 'table table-hover', 'data-testid': 'machines-table' },
          h('thead', null, h('tr', null, ...['Status', 'Hostname', 'Agent ID', 'OS', 'Users', 'Sessions', ''].map((c) => h('th', null, c)))),
          tbody,
        ),
      ),
      detail,
    ),
  );

  const drawDetail = () => {
    const m = machines.find((x) => x.agent_id === selected);
    if (!m) {
      replaceChildren(detail, h('p', { class: 'muted' }, 'Select a machine to see its details.'));
      return;
    }
    const row = (k: string, v: string | Node) => [h('dt', null, k), h('dd', null, v)];
    replaceChildren(
      detail,
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
      drawDetailSessions(m),
      h(
        'div',
        { class: 'detail-actions' },
        h('a', { class: 'btn btn-primary', href: `/machines/${encodeURIComponent(m.agent_id)}`, 'data-link': true }, 'Connect'),
        h('button', { class: 'btn', onclick: () => showSessions(m) }, `Sessions (${m.session_count})`),
      ),
    );
  };

  const drawDetailSessions = (m: MachineDto) => {
    const list = detailSessions?.agentId === m.agent_id ? detailSessions.sessions : undefined;
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
  };
  const refreshDetailSessions = async () => {
    const id = selected;
    if (!id) return;
    const r = await fetchSessions(id);
    if (r.ok && id === selected) {
      detailSessions = { agentId: id, sessions: r.value.sessions };
      drawDetail();
    }
  };

  const draw = () => {
    const shown = machines.filter((m) => !filter || [m.hostname, m.agent_id, m.os_version, ...m.users].some((s) => s.toLowerCase().includes(filter)));
    const online = machines.filter((m) => m.online).length;
    count.textContent = `${machines.length} machines · ${online} online`;
    replaceChildren(
      tbody,
      shown.length === 0
        ? h('tr', null, h('td', { colspan: 7, class: 'empty' }, machines.length ? 'No machine matches the filter.' : 'No machines yet. Install an agent to see it here.'))
        : shown.map((m) =>
            h(
              'tr',
              {
                class: m.agent_id === selected ? 'selected' : '',
                'data-agent-id': m.agent_id,
                onclick: (e: MouseEvent) => {
                  if ((e.target as Element).closest('button, a')) return;
                  selected = m.agent_id;
                  draw();
                  void refreshDetailSessions();
                },
              },
              h(
                'td',
                null,
                h('span', { class: `badge ${m.online ? 'badge-online' : 'badge-offline'}`, 'data-testid': 'status' }, m.online ? 'Online' : 'Offline'),
                h('div', { class: 'sub', title: dateTime(m.last_seen) }, m.online ? '' : `last seen ${ago(m.last_seen)}`),
              ),
              h(
                'td',
                null,
                h('a', { href: `/machines/${encodeURIComponent(m.agent_id)}`, 'data-link': true, class: 'host' }, m.hostname),
                h('div', { class: 'sub' }, m.elevated ? 'elevated' : 'not elevated'),
              ),
              h('td', { class: 'mono' }, m.agent_id),
              h('td', null, m.os_version || m.platform),
              h('td', { class: 'users-cell', title: m.users.join('\n') || 'nobody logged on', 'data-testid': 'users' }, m.users.length ? m.users.join(', ') : h('span', { class: 'muted' }, '—')),
              h('td', null, h('button', { class: 'btn btn-sm', 'data-action': 'sessions', onclick: () => showSessions(m) }, `Sessions (${m.session_count})`)),
              h(
                'td',
                { class: 'actions' },
                h('a', { class: 'btn btn-sm btn-primary', href: `/machines/${encodeURIComponent(m.agent_id)}`, 'data-link': true, 'aria-disabled': m.online ? null : 'true' }, 'Connect'),
              ),
            ),
          ),
    );
    drawDetail();
  };

  let inflight = false;
  let again = false;
  const refresh = async () => {
    if (inflight) {
      again = true;
      return;
    }
    inflight = true;
    const r = await api<{ machines: MachineDto[] }>('GET', '/api/machines');
    inflight = false;
    if (r.ok) {
      machines = r.value.machines;
      lastError = '';
      if (selected === undefined && machines.length === 1) selected = machines[0]?.agent_id;
      draw();
      void refreshDetailSessions();
      if (modal?.open) void modal.reload();
    } else if (r.error.error_code !== lastError) {
      // One toast per distinct failure, not one per tick.
      lastError = r.error.error_code;
      toastError(r.error);
    }
    if (again) {
      again = false;
      void refresh();
    }
  };

  const stopLive = connectLive({
    changed: () => void refresh(),
    // Online is "heard from within N beats": the server re-evaluates it, so ask again on each tick.
    tick: () => void refresh(),
    status: (up) => liveDot.classList.toggle('on', up),
  });
  draw();
  void refresh();
  return stopLive;
}
