/** A sortable, filterable table for backstage lists (services, processes). */
import { h, replaceChildren } from '../dom.js';

export interface Column<T> {
  key: string;
  label: string;
  value(row: T): string | number;
  render?(row: T): Node | string;
  numeric?: boolean;
  hidden?: () => boolean;
}

export interface DataTable<T> {
  readonly el: HTMLElement;
  setRows(rows: T[]): void;
  setFilter(text: string): void;
  readonly shown: number;
}

/** Builds the table; clicking a header sorts by it, again reverses. */
export function createDataTable<T>(opts: { columns: Column<T>[]; actions?: (row: T) => Node | null; testId: string; initialSort?: { key: string; desc?: boolean } }): DataTable<T> {
  let rows: T[] = [];
  let filter = '';
  let sortKey = opts.initialSort?.key ?? opts.columns[0]?.key ?? '';
  let desc = opts.initialSort?.desc ?? false;
  let shown = 0;
  const thead = h('thead');
  const tbody = h('tbody');
  const el = h('div', { class: 'table-wrap table-scroll' }, h('table', { class: 'table table-dense', 'data-testid': opts.testId }, thead, tbody));

  const draw = () => {
    const cols = opts.columns.filter((c) => !c.hidden?.());
    const col = cols.find((c) => c.key === sortKey) ?? cols[0];
    replaceChildren(
      thead,
      h(
        'tr',
        null,
        ...cols.map((c) =>
          h(
            'th',
            {
              class: `sortable${c.numeric ? ' num' : ''}${c.key === col?.key ? (desc ? ' sort-desc' : ' sort-asc') : ''}`,
              'data-sort-key': c.key,
              onclick: () => {
                if (sortKey === c.key) desc = !desc;
                else {
                  sortKey = c.key;
                  desc = !!c.numeric;
                }
                draw();
              },
            },
            c.label,
          ),
        ),
        opts.actions ? h('th', null, '') : null,
      ),
    );
    const f = filter.toLowerCase();
    const list = rows.filter((r) => !f || cols.some((c) => String(c.value(r)).toLowerCase().includes(f)));
    if (col) {
      list.sort((a, b) => {
        const va = col.value(a);
        const vb = col.value(b);
        const d = typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va).localeCompare(String(vb), undefined, { numeric: true, sensitivity: 'base' });
        return desc ? -d : d;
      });
    }
    shown = list.length;
    replaceChildren(
      tbody,
      list.length === 0
        ? h('tr', null, h('td', { colspan: cols.length + 1, class: 'empty' }, rows.length ? 'Nothing matches the filter.' : 'No rows.'))
        : list.map((r) =>
            h(
              'tr',
              null,
              ...cols.map((c) => h('td', { class: c.numeric ? 'num' : '' }, c.render ? c.render(r) : String(c.value(r)))),
              opts.actions ? h('td', { class: 'actions' }, opts.actions(r)) : null,
            ),
          ),
    );
  };
  draw();
  return {
    el,
    setRows(r) {
      rows = r;
      draw();
    },
    setFilter(text) {
      filter = text;
      draw();
    },
    get shown() {
      return shown;
    },
  };
}
