/** Audit log (admins and auditors): filters, cursor paging, a detail drawer, CSV / JSON-lines export. */
import { api } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { dateTime } from '../format.js';
import { shell } from '../layout.js';
import { hasRole, currentUser } from '../session.js';
import type { AuditEventDto, AuditPage } from '../types.js';
import { download, toCsv, toJsonLines } from './audit-export.js';

/** The part of GET /api/health the banner reads (services/gateway/routes/health.ts). */
interface ReadSideHealth {
  projections: Array<{ name: string; checkpoint: number; lag: number | null; quarantined: number }>;
  quarantined_recent: Array<{ projection: string; stream_seq: number; error_code: string; quarantined_at: string; subject?: string; error_message?: string }>;
  attention: boolean;
}

/** A warning when a projection quarantined events or lags the stream: the log below may then be incomplete. */
async function readSideBanner(banner: HTMLElement): Promise<void> {
  const r = await api<{ read_side: ReadSideHealth | null }>('GET', '/api/health');
  const rs = r.ok ? r.value.read_side : null;
  if (!rs?.attention) return;
  const lines = rs.projections
    .filter((p) => p.quarantined > 0 || (p.lag ?? 0) > 0)
    .map((p) => `${p.name}: ${p.quarantined} quarantined, ${p.lag ?? '?'} events behind the stream (checkpoint ${p.checkpoint})`);
  replaceChildren(
    banner,
    h('strong', null, 'Read side needs attention: '),
    'some events were quarantined or a projection lags, so this log may be incomplete. Run `audit verify`.',
    h('ul', null, ...lines.map((l) => h('li', null, l))),
    rs.quarantined_recent.length > 0 &&
      h(
        'ul',
        { class: 'mono' },
        ...rs.quarantined_recent.map((q) => h('li', null, `${q.projection} seq ${q.stream_seq} ${q.subject ?? ''} ${q.error_code} ${q.error_message ?? ''} (${dateTime(q.quarantined_at)})`)),
      ),
  );
  banner.hidden = false;
}

const EVENT_TYPES = [
  '',
  'login',
  'login_failed',
  'logout',
  'viewer_joined',
  'viewer_left',
  'session_switched',
  'session_switch_failed',
  'backstage_entered',
  'backstage_exited',
  'backstage_command',
  'backstage_service_query',
  'backstage_process_query',
  'access_denied',
  'command_failed',
  'event_quarantined',
  'api_token_created',
  'api_token_revoked',
  'api_token_used',
  'integration_created',
  'integration_revoked',
];

/** Renders /audit. */
export function auditPage(root: HTMLElement): undefined {
  const main = shell(root, 'audit');
  if (!hasRole(currentUser(), 'admin', 'auditor')) {
    main.append(h('div', { class: 'card notice' }, h('h1', null, 'Audit log'), h('p', null, 'The audit log is for admins and auditors. Ask an admin for the auditor role.')));
    return undefined;
  }
  let rows: AuditEventDto[] = [];
  let cursor: string | null = null;
  let seq = 0;
  const input = (name: string, attrs: Record<string, string> = {}) => h('input', { class: 'input', name, ...attrs });
  const agent = input('agent', { placeholder: 'Machine (agent id)' });
  const userF = input('user', { placeholder: 'User' });
  const type = h('select', { class: 'select', name: 'type' }, ...EVENT_TYPES.map((t) => h('option', { value: t }, t || 'All event types')));
  const since = input('since', { type: 'datetime-local', title: 'From' });
  const until = input('until', { type: 'datetime-local', title: 'To' });
  const status = h('span', { class: 'muted' });
  const more = h('button', { class: 'btn', hidden: true, onclick: () => void load(false) }, 'Load more');
  const tbody = h('tbody');
  const drawer = h('aside', { class: 'drawer', hidden: true, 'data-testid': 'audit-drawer' });
  const banner = h('div', { class: 'card notice', role: 'alert', hidden: true, 'data-testid': 'read-side-warning', style: 'background: var(--warn-soft); color: var(--warn);' });

  const query = () => {
    const q = new URLSearchParams();
    if (agent.value.trim()) q.set('agent', agent.value.trim());
    if (userF.value.trim()) q.set('user', userF.value.trim());
    if (type.value) q.set('type', type.value);
    if (since.value) q.set('since', new Date(since.value).toISOString());
    if (until.value) q.set('until', new Date(until.value).toISOString());
    return q;
  };
  const openDrawer = (e: AuditEventDto) => {
    drawer.hidden = false;
    replaceChildren(
      drawer,
      h(
        'header',
        { class: 'drawer-head' },
        h('h2', null, e.event_type),
        h(
          'button',
          {
            class: 'icon-btn',
            'aria-label': 'Close',
            onclick: () => {
              drawer.hidden = true;
            },
          },
          '×',
        ),
      ),
      h(
        'dl',
        { class: 'kv' },
        ...(
          [
            ['Sequence', String(e.seq)],
            ['Time', dateTime(e.created_at)],
            ['User', e.user_name ?? '—'],
            ['Machine', e.agent_id ?? '—'],
            ['Connection', String(e.session_id ?? '—')],
            ['Correlation id', e.correlation_id ?? '—'],
            ['Event id', e.id],
          ] as const
        ).flatMap(([k, v]) => [h('dt', null, k), h('dd', { class: 'mono' }, v)]),
      ),
      h('h3', null, 'Details'),
      h('pre', { class: 'json' }, JSON.stringify(e.details ?? {}, null, 2)),
    );
  };
  const summary = (d: Record<string, unknown> | null) => {
    if (!d) return '';
    return Object.entries(d)
      .slice(0, 4)
      .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
      .join(' · ');
  };
  const draw = () => {
    replaceChildren(
      tbody,
      rows.length === 0
        ? h('tr', null, h('td', { colspan: 6, class: 'empty' }, 'No events match.'))
        : rows.map((e) =>
            h(
              'tr',
              { class: 'clickable', onclick: () => openDrawer(e) },
              h('td', { class: 'num' }, e.seq),
              h('td', { class: 'nowrap' }, dateTime(e.created_at)),
              h('td', null, h('span', { class: `badge badge-ev ${e.event_type.includes('denied') || e.event_type.includes('failed') ? 'badge-warn' : ''}` }, e.event_type)),
              h('td', null, e.user_name ?? '—'),
              h('td', { class: 'mono' }, e.agent_id ?? '—'),
              h('td', { class: 'ellipsis details', title: summary(e.details) }, summary(e.details)),
            ),
          ),
    );
    more.hidden = !cursor;
  };
  const load = async (reset: boolean) => {
    const my = ++seq;
    const q = query();
    if (!reset && cursor) q.set('cursor', cursor);
    status.textContent = 'Loading…';
    const r = await api<AuditPage>('GET', `/api/audit?${q}`);
    if (my !== seq) return;
    if (!r.ok) {
      status.textContent = `${r.error.error_code}: ${r.error.message}`;
      return;
    }
    rows = reset ? r.value.events : [...rows, ...r.value.events];
    cursor = r.value.next_cursor;
    status.textContent = `${rows.length} events${cursor ? ' (more available)' : ''}`;
    draw();
  };
  const stamp = () => new Date().toISOString().replace(/[:.]/g, '-');

  main.append(
    h(
      'div',
      { class: 'page-head' },
      h('h1', null, 'Audit log'),
      status,
      h('div', { class: 'spacer' }),
      h('button', { class: 'btn btn-sm', onclick: () => download(`audit-${stamp()}.csv`, 'text/csv', toCsv(rows)) }, 'Export CSV'),
      h('button', { class: 'btn btn-sm', onclick: () => download(`audit-${stamp()}.jsonl`, 'application/x-ndjson', toJsonLines(rows)) }, 'Export JSON lines'),
    ),
    banner,
    h(
      'form',
      {
        class: 'filters card',
        onsubmit: (e: SubmitEvent) => {
          e.preventDefault();
          void load(true);
        },
      },
      agent,
      userF,
      type,
      h('label', { class: 'toolbar-label' }, 'From'),
      since,
      h('label', { class: 'toolbar-label' }, 'To'),
      until,
      h('button', { class: 'btn btn-primary', type: 'submit' }, 'Apply'),
      h('button', { class: 'btn btn-ghost', type: 'reset', onclick: () => setTimeout(() => void load(true)) }, 'Clear'),
    ),
    h(
      'div',
      { class: 'split' },
      h(
        'div',
        { class: 'card table-wrap' },
        h(
          'table',
          { class: 'table table-hover table-dense', 'data-testid': 'audit-table' },
          h('thead', null, h('tr', null, ...['Seq', 'Time', 'Event', 'User', 'Machine', 'Details'].map((c) => h('th', null, c)))),
          tbody,
        ),
        h('div', { class: 'table-foot' }, more),
      ),
      drawer,
    ),
  );
  void load(true);
  void readSideBanner(banner);
  return undefined;
}
