/** Transient notifications in the corner; errors show their code and message (and the id to quote). */
import { h } from './dom.js';

let host: HTMLElement | undefined;

function container(): HTMLElement {
  if (!host?.isConnected) {
    host = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.appendChild(host);
  }
  return host;
}

/** Shows a message for a few seconds (errors stay longer). */
export function toast(text: string, kind: 'info' | 'ok' | 'error' = 'info', ms = kind === 'error' ? 8000 : 3500): HTMLElement {
  const el = h('div', { class: `toast toast-${kind}` }, text);
  const close = h('button', { class: 'toast-close', 'aria-label': 'Dismiss', onclick: () => el.remove() }, '×');
  el.appendChild(close);
  container().appendChild(el);
  setTimeout(() => el.remove(), ms);
  return el;
}

/** Shows an error envelope as "CODE: message". */
export function toastError(e: { error_code: string; message: string; correlation_id?: string }): HTMLElement {
  const el = toast('', 'error');
  el.prepend(h('strong', { class: 'toast-code' }, e.error_code), h('span', null, ` ${e.message}`), ...(e.correlation_id ? [h('small', { class: 'toast-corr' }, ` (ref ${e.correlation_id})`)] : []));
  el.dataset['code'] = e.error_code;
  return el;
}
