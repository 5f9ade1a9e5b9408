/**
 * /mfa: the signed-in technician's second factor. Set-up shows the secret as a QR code and as text,
 * is confirmed with one code, and shows the ten recovery codes once. A user whose role requires a
 * factor (GC_MFA_REQUIRED) is brought here before any other page.
 */
import { api } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { shell } from '../layout.js';
import { navigate } from '../router.js';
import { currentMfa, loadMe, mustSetUpMfa } from '../session.js';
import { toastError } from '../toast.js';
import type { MfaSetupDto } from '../types.js';

/** Renders /mfa. */
export function mfaPage(root: HTMLElement, _p: Record<string, string>, query: URLSearchParams): undefined {
  const main = shell(root, 'mfa');
  const card = h('div', { class: 'card mfa-card', 'data-testid': 'mfa-card' });
  main.append(card);
  const next = () => {
    const n = query.get('next');
    navigate(n?.startsWith('/') && !n.startsWith('//') && !n.startsWith('/mfa') ? n : '/', true);
  };

  const showStatus = () => {
    const m = currentMfa();
    if (m?.enabled) {
      replaceChildren(
        card,
        h('h1', null, 'Second factor'),
        h('p', { 'data-testid': 'mfa-state' }, 'On: signing in asks for a code from your authenticator app after the password.'),
        h('p', { class: 'muted' }, `Recovery codes left: ${m.recovery_codes_left}. Lost your device? An admin resets the factor, then you set up a new one.`),
      );
      return;
    }
    replaceChildren(
      card,
      h('h1', null, 'Second factor'),
      mustSetUpMfa()
        ? h('p', { class: 'notice-warn', 'data-testid': 'mfa-required' }, 'Your role must use a second factor: set it up to continue.')
        : h('p', null, 'Off. With a second factor, signing in asks for a code from an authenticator app after the password.'),
      h('button', { class: 'btn btn-primary', 'data-action': 'mfa-setup', onclick: () => void begin() }, 'Set up'),
    );
  };

  const begin = async () => {
    const r = await api<MfaSetupDto>('POST', '/api/auth/mfa/setup');
    if (!r.ok) return void toastError(r.error);
    const code = h('input', { class: 'input mono', id: 'mfa-code', autocomplete: 'one-time-code', inputmode: 'numeric', maxlength: 6, required: true, placeholder: '123456' });
    const error = h('div', { class: 'form-error', role: 'alert', 'data-testid': 'mfa-error' });
    const confirm = h('button', { class: 'btn btn-primary', type: 'submit' }, 'Confirm');
    replaceChildren(
      card,
      h('h1', null, 'Set up a second factor'),
      h('p', null, 'Scan the QR code with an authenticator app (or type the key), then enter the code it shows.'),
      h(
        'div',
        { class: 'mfa-setup' },
        h('img', { id: 'mfa-qr', src: r.value.qr_png, alt: 'QR code of the authenticator key', width: 198, height: 198 }),
        h(
          'div',
          null,
          h('label', { for: 'mfa-secret' }, 'Key'),
          h('code', { id: 'mfa-secret', class: 'mono mfa-secret' }, r.value.secret.replace(/(.{4})/g, '$1 ').trim()),
          h('p', { class: 'muted' }, 'Time-based, 6 digits, every 30 seconds. The key is shown only now.'),
        ),
      ),
      h(
        'form',
        {
          class: 'mfa-confirm',
          onsubmit: async (e: SubmitEvent) => {
            e.preventDefault();
            confirm.disabled = true;
            error.textContent = '';
            const c = await api<{ recovery_codes: string[] }>('POST', '/api/auth/mfa/confirm', { code: code.value.trim() });
            confirm.disabled = false;
            if (!c.ok) {
              error.textContent = `${c.error.error_code}: ${c.error.message}`;
              code.select();
              return;
            }
            await loadMe();
            showRecovery(c.value.recovery_codes);
          },
        },
        h('label', { for: 'mfa-code' }, 'Code from the app'),
        h('div', { class: 'row' }, code, confirm),
        error,
      ),
    );
    code.focus();
  };

  const showRecovery = (codes: string[]) => {
    replaceChildren(
      card,
      h('h1', null, 'Second factor is on'),
      h('p', null, 'Keep these recovery codes somewhere safe. Each signs you in once when your device is not at hand. They are shown only now.'),
      h('ul', { class: 'recovery-codes mono', 'data-testid': 'recovery-codes' }, ...codes.map((c) => h('li', null, c))),
      h('button', { class: 'btn btn-primary', 'data-action': 'mfa-done', onclick: next }, 'I have saved them'),
    );
  };

  showStatus();
  return undefined;
}
