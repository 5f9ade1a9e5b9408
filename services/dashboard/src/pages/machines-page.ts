/**
 * Machines list: one page at a time from GET /api/machines, filtered on the server as you type
 * (debounced) and by status, paged with the server's keyset cursors, kept current by /ws/live.
 * Performance marks (`gc:machines:first-rows`, measures `gc:machines:filter`) let a browser
 * benchmark read how long the first rows and each filter took to reach the screen.
 */
import { api } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { ago, dateTime } from '../format.js';
import { shell } from '../layout.js';
import { connectLive } from '../live-client.js';
import { currentUser, hasRole } from '../session.js';
import { toastError } from '../toast.js';
import type { MachineDto, MachinesPageDto, WindowsSessionDto } from '../types.js';
import { openEnrollDialog } from './enroll-dialog.js';
import { drawMachineDetail } from './machine-detail.js';
import { type SessionsModal, fetchSessions, openSessionsModal } from './sessions-modal.js';

const PAGE_SIZE = 100;
/** Typing pauses this long before the filter is sent: one request per burst of keys, not per key. */
const FILTER_DEBOUNCE_MS = 50;
/** Live changes arrive up to ten times a second with a large fleet; the page asks again at most this often. */
const LIVE_REFRESH_GAP_MS = 1000;

/** Runs `fn` once the browser has painted what the DOM holds now. */
const afterPaint = (fn: () => void) => requestAnimationFrame(() => setTimeout(fn, 0));

/** Renders the machines page. */
export function machinesPage(root: HTMLElement): () => void {
  const main = shell(root, 'machines');
  let page: MachinesPageDto | undefined;
  // cursors[i] fetches page i (page 0 has none); the server hands out each next one.
  let cursors: (string | undefined)[] = [undefined];
  let q = '';
  let status: 'all' | 'online' | 'offline' = 'all';
  let selected: MachineDto | undefined;
  let lastError = '';
  let modal: SessionsModal | undefined;
  let detailSessions: { agentId: string; sessions: WindowsSessionDto[] } | undefined;
  // When the newest typed filter was typed: its rows on screen end the `gc:machines:filter` measure.
  let filterTypedAt: number | undefined;
  let firstRowsMarked = false;

  const showSessions = (m: MachineDto) => {
    modal = openSessionsModal(m);
  };
  const liveDot = h('span', { class: 'live-dot', title: 'Live updates' });
  const count = h('span', { class: 'muted', 'data-testid': 'machines-count' });
  let debounce: ReturnType<typeof setTimeout> | undefined;
  const search = h('input', {
    class: 'input',
    type: 'search',
    placeholder: 'Filter by host, agent, user…',
    maxlength: 200,
    'data-testid': 'machines-filter',
    oninput: () => {
      filterTypedAt = performance.now();
      clearTimeout(debounce);
      debounce = setTimeout(() => {
        q = search.value.trim();
        cursors = [undefined];
        void load();
      }, FILTER_DEBOUNCE_MS);
    },
  });
  const statusSelect = h(
    'select',
    {
      class: 'select',
      'data-testid': 'machines-status',
      onchange: () => {
        status = statusSelect.value as typeof status;
        cursors = [undefined];
        void load();
      },
    },
    h('option', { value: 'all' }, 'All machines'),
    h('option', { value: 'online' }, 'Online'),
    h('option', { value: 'offline' }, 'Offline'),
  );
  const tbody = h('tbody');
  const table = h(
    'table',
    { class: 'table table-hover', 'data-testid': 'machines-table' },
    h('thead', null, h('tr', null, ...['Status', 'Hostname', 'Agent ID', 'OS', 'Users', 'Sessions', ''].map((c) => h('th', null, c)))),
    tbody,
  );
  const pageInfo = h('span', { class: 'muted', 'data-testid': 'page-info' });
  const prev = h('button', { class: 'btn btn-sm', 'data-action': 'prev-page', onclick: () => go(-1) }, '‹ Previous');
  const next = h('button', { class: 'btn btn-sm', 'data-action': 'next-page', onclick: () => go(1) }, 'Next ›');
  const detail = h('aside', { class: 'detail-panel', 'data-testid': 'machine-detail' });
  main.append(
    h(
      'div',
      { class: 'page-head' },
      h('h1', null, 'Machines'),
      count,
      h('div', { class: 'spacer' }),
      statusSelect,
      search,
      h('span', { class: 'live' }, liveDot, 'Live'),
      hasRole(currentUser(), 'admin') ? h('button', { class: 'btn', 'data-action': 'add-machine', onclick: openEnrollDialog }, 'Add machine') : '',
    ),
    // The pager sits above the rows: below a page of 100 it would be off screen.
    h('div', { class: 'split' }, h('div', { class: 'card table-wrap' }, h('div', { class: 'pager', 'data-testid': 'pager' }, pageInfo, h('div', { class: 'spacer' }), prev, next), table), detail),
  );

  const drawDetail = () => drawMachineDetail(detail, selected, detailSessions?.agentId === selected?.agent_id ? detailSessions?.sessions : undefined, showSessions);
  const refreshDetailSessions = async () => {
    const id = selected?.agent_id;
    if (!id) return;
    const r = await fetchSessions(id);
    if (r.ok && id === selected?.agent_id) {
      detailSessions = { agentId: id, sessions: r.value.sessions };
      drawDetail();
    }
  };

  const machineRow = (m: MachineDto) =>
    h(
      'tr',
      {
        class: m.agent_id === selected?.agent_id ? 'selected' : '',
        'data-agent-id': m.agent_id,
        onclick: (e: MouseEvent) => {
          if ((e.target as Element).closest('button, a')) return;
          selected = m;
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
    );

  const draw = () => {
    const rows = page?.machines ?? [];
    const filtering = q !== '' || status !== 'all';
    const matching = page ? `${page.matching.toLocaleString()}${page.matching_capped ? '+' : ''}` : '';
    count.textContent = page ? `${page.total.toLocaleString()} ${page.total === 1 ? 'machine' : 'machines'} · ${page.online.toLocaleString()} online${filtering ? ` · ${matching} match` : ''}` : '';
    const first = (cursors.length - 1) * PAGE_SIZE;
    pageInfo.textContent = page && rows.length ? `${(first + 1).toLocaleString()}–${(first + rows.length).toLocaleString()} of ${matching}` : '';
    prev.disabled = cursors.length <= 1;
    next.disabled = !page?.next_cursor;
    // What the rows on screen answer (tests wait on these instead of on time).
    tbody.dataset.q = q;
    tbody.dataset.status = status;
    tbody.dataset.page = String(cursors.length - 1);
    replaceChildren(
      tbody,
      rows.length === 0
        ? h('tr', null, h('td', { colspan: 7, class: 'empty' }, !page ? 'Loading…' : page.total ? 'No machine matches the filter.' : 'No machines yet. Install an agent to see it here.'))
        : rows.map(machineRow),
    );
    drawDetail();
  };

  // Responses can arrive out of order (a slow page, then a quick filter): only the newest is drawn.
  let requestSeq = 0;
  let lastLoadAt = 0;
  const load = async () => {
    const seq = ++requestSeq;
    lastLoadAt = performance.now();
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (q) params.set('q', q);
    if (status !== 'all') params.set('status', status);
    const cursor = cursors[cursors.length - 1];
    if (cursor) params.set('cursor', cursor);
    const typedAt = filterTypedAt;
    const shownQ = q;
    const r = await api<MachinesPageDto>('GET', `/api/machines?${params}`);
    if (seq !== requestSeq) return;
    if (!r.ok) {
      // One toast per distinct failure, not one per tick.
      if (r.error.error_code !== lastError) toastError(r.error);
      lastError = r.error.error_code;
      return;
    }
    lastError = '';
    page = r.value;
    const fresh = page.machines.find((m) => m.agent_id === selected?.agent_id);
    if (fresh) selected = fresh;
    if (!selected && page.total === 1 && page.machines[0]) selected = page.machines[0];
    draw();
    if (!firstRowsMarked && page.machines.length) {
      firstRowsMarked = true;
      afterPaint(() => performance.mark('gc:machines:first-rows', { detail: { rows: page?.machines.length } }));
    }
    if (typedAt !== undefined && typedAt === filterTypedAt && search.value.trim() === shownQ) {
      filterTypedAt = undefined;
      afterPaint(() => performance.measure('gc:machines:filter', { start: typedAt, end: performance.now(), detail: { q: shownQ, rows: r.value.machines.length, matching: r.value.matching } }));
    }
    void refreshDetailSessions();
    if (modal?.open) void modal.reload();
  };

  const go = (step: 1 | -1) => {
    if (step === 1 && page?.next_cursor) cursors = [...cursors, page.next_cursor];
    else if (step === -1 && cursors.length > 1) cursors = cursors.slice(0, -1);
    else return;
    void load();
  };

  // Live changes and presence ticks refresh the page on screen, at most once per gap.
  let liveTimer: ReturnType<typeof setTimeout> | undefined;
  const liveRefresh = () => {
    if (liveTimer) return;
    const wait = Math.max(0, lastLoadAt + LIVE_REFRESH_GAP_MS - performance.now());
    liveTimer = setTimeout(() => {
      liveTimer = undefined;
      void load();
    }, wait);
  };
  const stopLive = connectLive({
    changed: liveRefresh,
    // Online is "heard from within N beats": the server re-evaluates it, so ask again on each tick.
    tick: liveRefresh,
    status: (up) => liveDot.classList.toggle('on', up),
  });
  draw();
  void load();
  return () => {
    stopLive();
    clearTimeout(liveTimer);
    clearTimeout(debounce);
  };
}
