/** Sign-in: password, then (for a user with a second factor) the code; on success continues to ?next= (or the machines list). */
import { h } from '../dom.js';
import { navigate } from '../router.js';
import { login, loginCode } from '../session.js';

/** Renders the login page. */
export function loginPage(root: HTMLElement, _p: Record<string, string>, query: URLSearchParams): undefined {
  const name = h('input', { id: 'login-name', name: 'username', autocomplete: 'username', required: true, autofocus: true });
  const password = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('div', { class: 'form-error', role: 'alert' });
  const submit = h('button', { class: 'btn btn-primary btn-block', type: 'submit' }, 'Sign in');
  const brand = () =>
    h('div', { class: 'login-brand' }, h('img', { src: '/favicon.ico', alt: '', width: 32, height: 32 }), h('div', null, h('h1', null, 'GuruConnect'), h('p', null, 'Sessions & Backstage')));
  const next = () => {
    const n = query.get('next');
    navigate(n?.startsWith('/') && !n.startsWith('//') ? n : '/', true);
  };
  const wrap = h('div', { class: 'login-wrap' });

  /** The second step: the challenge lives only in this closure, never in storage or the URL. */
  const codeStep = (challenge: string) => {
    const code = h('input', { id: 'login-code', name: 'code', autocomplete: 'one-time-code', inputmode: 'numeric', required: true, maxlength: 64 });
    const codeError = h('div', { class: 'form-error', role: 'alert' });
    const verify = h('button', { class: 'btn btn-primary btn-block', type: 'submit' }, 'Verify');
    const form = h(
      'form',
      {
        class: 'login-card',
        'data-step': 'mfa',
        onsubmit: async (e: SubmitEvent) => {
          e.preventDefault();
          verify.disabled = true;
          codeError.textContent = '';
          const r = await loginCode(challenge, code.value.trim());
          verify.disabled = false;
          if (r.ok) return next();
          codeError.textContent = `${r.error.error_code}: ${r.error.message}`;
          code.select();
          // The challenge is gone (expired, used, or the account locked): start again with the password.
          if (r.error.error_code === 'MFA_CHALLENGE_INVALID' || r.error.error_code === 'ACCOUNT_LOCKED') {
            wrap.replaceChildren(passwordForm);
            error.textContent = codeError.textContent;
            password.value = '';
            password.focus();
          }
        },
      },
      brand(),
      h('label', { for: 'login-code' }, 'Authentication code'),
      code,
      h('p', { class: 'muted form-hint' }, 'The 6-digit code from your authenticator app, or one of your recovery codes.'),
      codeError,
      verify,
    );
    wrap.replaceChildren(form);
    code.focus();
  };

  const passwordForm = h(
    'form',
    {
      class: 'login-card',
      onsubmit: async (e: SubmitEvent) => {
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
        if (r.value.kind === 'mfa') return codeStep(r.value.challenge);
        next();
      },
    },
    brand(),
    h('label', { for: 'login-name' }, 'User name'),
    name,
    h('label', { for: 'login-password' }, 'Password'),
    password,
    error,
    submit,
  );
  wrap.append(passwordForm);
  root.append(wrap);
  name.focus();
  return undefined;
}
