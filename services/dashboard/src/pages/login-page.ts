/** Sign-in form; on success continues to ?next= (or the machines list). */
import { h } from '../dom.js';
import { navigate } from '../router.js';
import { login } from '../session.js';

/** Renders the login page. */
export function loginPage(root: HTMLElement, _p: Record<string, string>, query: URLSearchParams): undefined {
  const name = h('input', { id: 'login-name', name: 'username', autocomplete: 'username', required: true, autofocus: true });
  const password = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('div', { class: 'form-error', role: 'alert' });
  const submit = h('button', { class: 'btn btn-primary btn-block', type: 'submit' }, 'Sign in');
  const form = h('form', { class: 'login-card', onsubmit: async (e: SubmitEvent) => {
    e.preventDefault();
    submit.disabled = true;
    error.textContent = '';
    const r = await login(name.value.trim(), password.value);
    submit.disabled = false;
    if (!r.ok) {
      error.textContent = `${r.error.error_code}: ${r.error.message}`;
      password.select();
      return;
    }
    const next = query.get('next');
    navigate(next?.startsWith('/') && !next.startsWith('//') ? next : '/', true);
  } },
    h('div', { class: 'login-brand' }, h('img', { src: '/favicon.ico', alt: '', width: 32, height: 32 }), h('div', null, h('h1', null, 'GuruConnect'), h('p', null, 'Sessions & Backstage'))),
    h('label', { for: 'login-name' }, 'User name'), name,
    h('label', { for: 'login-password' }, 'Password'), password,
    error, submit);
  root.append(h('div', { class: 'login-wrap' }, form));
  name.focus();
  return undefined;
}
