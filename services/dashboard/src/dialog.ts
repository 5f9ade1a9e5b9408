/** Modal dialogs: a generic modal and a confirmation that resolves to true/false. */
import { type Child, h } from './dom.js';

export interface Modal {
  body: HTMLElement;
  close(): void;
}

/** Opens a modal with a title; Escape or the backdrop closes it. */
export function openModal(title: string, opts: { wide?: boolean; onClose?: () => void } = {}): Modal {
  const body = h('div', { class: 'modal-body' });
  const close = () => {
    backdrop.remove();
    document.removeEventListener('keydown', onKey);
    opts.onClose?.();
  };
  const onKey = (e: KeyboardEvent) => e.key === 'Escape' && close();
  const dialog = h(
    'div',
    { class: `modal${opts.wide ? ' modal-wide' : ''}`, role: 'dialog', 'aria-modal': 'true', 'aria-label': title },
    h('header', { class: 'modal-head' }, h('h2', null, title), h('button', { class: 'icon-btn', 'aria-label': 'Close', onclick: close }, '×')),
    body,
  );
  const backdrop = h('div', { class: 'backdrop', onmousedown: (e: MouseEvent) => e.target === backdrop && close() }, dialog);
  document.addEventListener('keydown', onKey);
  document.body.appendChild(backdrop);
  return { body, close };
}

/** Asks for confirmation; resolves true only when the user presses the action button. */
export function confirmDialog(title: string, message: Child, action: string, danger = true): Promise<boolean> {
  return new Promise((resolve) => {
    let answered = false;
    const m = openModal(title, { onClose: () => !answered && resolve(false) });
    const done = (v: boolean) => {
      answered = true;
      resolve(v);
      m.close();
    };
    const ok = h('button', { class: danger ? 'btn btn-danger' : 'btn btn-primary', 'data-confirm': 'yes', onclick: () => done(true) }, action);
    m.body.append(h('p', { class: 'confirm-text' }, message), h('div', { class: 'modal-actions' }, h('button', { class: 'btn', onclick: () => done(false) }, 'Cancel'), ok));
    ok.focus();
  });
}
