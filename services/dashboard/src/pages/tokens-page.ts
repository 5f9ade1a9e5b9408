/** API tokens (admins): list, create (the token shown once, with a copy button), revoke after confirmation. */
import { api } from '../api.js';
import { confirmDialog, openModal } from '../dialog.js';
import { h, replaceChildren } from '../dom.js';
import { ago, dateTime } from '../format.js';
import { shell } from '../layout.js';
import { currentUser, hasRole } from '../session.js';
import { toast, toastError } from '../toast.js';
import type { ApiTokenDto, CreatedApiTokenDto } from '../types.js';

/** A token's state for the badge: revoked and expired tokens answer 401 with their own code. */
function stateOf(t: ApiTokenDto, now = Date.now()): 'revoked' | 'expired' | 'active' {
  if (t.revoked_at) return 'revoked';
  if (t.expires_at && Date.parse(t.expires_at) <= now) return 'expired';
  return 'active';
}

/** Copies `text`; falls back to selecting it in `field` where the Clipboard API is refused. */
async function copy(text: string, field: HTMLInputElement): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    field.select();
    return document.execCommand('copy');
  }
}

/** Shows the clear token once: it is not stored, so closing the dialog loses it. */
function showTokenOnce(created: CreatedApiTokenDto): void {
  const m = openModal('API token created', { wide: true });
  const field = h('input', { class: 'input mono token-value', readonly: true, value: created.token, 'data-testid': 'new-token', 'aria-label': 'API token' });
  const status = h('span', { class: 'muted', 'data-testid': 'copy-status' });
  m.body.append(
    h(
      'p',
      null,
      'Copy the token for ',
      h('strong', null, created.name),
      ` (user ${created.user}) now: it is shown only once and cannot be recovered. Send it as `,
      h('code', null, 'Authorization: Bearer <token>'),
      '.',
    ),
    h(
      'div',
      { class: 'token-once' },
      field,
      h(
        'button',
        {
          class: 'btn btn-primary',
          'data-action': 'copy-token',
          onclick: async () => {
            status.textContent = (await copy(created.token, field)) ? 'Copied.' : 'Copy failed: select the token and copy it by hand.';
          },
        },
        'Copy',
      ),
    ),
    status,
    h('div', { class: 'modal-actions' }, h('button', { class: 'btn', 'data-action': 'close-token', onclick: () => m.close() }, 'I have copied it')),
  );
  field.select();
}

/** Renders /tokens. */
export function tokensPage(root: HTMLElement): undefined {
  const main = shell(root, 'tokens');
  if (!hasRole(currentUser(), 'admin')) {
    main.append(h('div', { class: 'card notice' }, h('h1', null, 'API tokens'), h('p', null, 'API tokens are managed by admins.')));
    return undefined;
  }
  const status = h('span', { class: 'muted', 'data-testid': 'tokens-status' });
  const tbody = h('tbody');
  const name = h('input', { class: 'input', name: 'name', placeholder: 'Token name (e.g. nightly backup)', maxlength: 64, required: true });
  const user = h('input', { class: 'input', name: 'user', placeholder: 'User or service account', maxlength: 64, required: true });
  const days = h('input', { class: 'input input-days', name: 'expires_in_days', type: 'number', min: 1, max: 3650, value: 90, title: 'Expires in days (empty: never)' });
  const formError = h('div', { class: 'form-error', 'data-testid': 'token-form-error' });

  const revoke = async (t: ApiTokenDto) => {
    const yes = await confirmDialog(
      'Revoke API token',
      h('span', null, 'Revoke ', h('strong', null, t.name), ` of ${t.user}? Scripts using it get 401 TOKEN_REVOKED from their next request.`),
      'Revoke',
    );
    if (!yes) return;
    const r = await api('DELETE', `/api/tokens/${encodeURIComponent(t.id)}`);
    if (!r.ok) toastError(r.error);
    else toast(`Revoked ${t.name}`, 'ok');
    await load();
  };
  const draw = (tokens: ApiTokenDto[]) => {
    replaceChildren(
      tbody,
      tokens.length === 0
        ? h('tr', null, h('td', { colspan: 7, class: 'empty' }, 'No API tokens yet.'))
        : tokens.map((t) => {
            const state = stateOf(t);
            return h(
              'tr',
              { 'data-token-id': t.id },
              h('td', null, t.name),
              h('td', null, t.user),
              h('td', null, h('span', { class: `badge ${state === 'active' ? 'badge-online' : 'badge-muted'}`, 'data-testid': 'token-state' }, state)),
              h('td', { class: 'nowrap' }, dateTime(t.created_at)),
              h('td', { class: 'nowrap' }, t.expires_at ? dateTime(t.expires_at) : 'never'),
              h('td', { class: 'nowrap', title: t.last_used_at ?? '' }, t.last_used_at ? ago(t.last_used_at) : 'never'),
              h('td', null, state === 'revoked' ? null : h('button', { class: 'btn btn-sm btn-danger', 'data-action': 'revoke-token', onclick: () => void revoke(t) }, 'Revoke')),
            );
          }),
    );
  };
  const load = async () => {
    const r = await api<{ tokens: ApiTokenDto[] }>('GET', '/api/tokens');
    if (!r.ok) {
      status.textContent = `${r.error.error_code}: ${r.error.message}`;
      return;
    }
    status.textContent = `${r.value.tokens.filter((t) => stateOf(t) === 'active').length} active of ${r.value.tokens.length}`;
    draw(r.value.tokens);
  };
  const submit = async (e: SubmitEvent) => {
    e.preventDefault();
    formError.textContent = '';
    const body = { name: name.value.trim(), user: user.value.trim(), ...(days.value ? { expires_in_days: Number(days.value) } : {}) };
    const r = await api<CreatedApiTokenDto>('POST', '/api/tokens', body);
    if (!r.ok) {
      formError.textContent = `${r.error.error_code}: ${r.error.message}`;
      return;
    }
    name.value = '';
    showTokenOnce(r.value);
    await load();
  };

  main.append(
    h('div', { class: 'page-head' }, h('h1', null, 'API tokens'), status),
    h(
      'p',
      { class: 'muted' },
      'Tokens let scripts call the HTTP API as a user or service account (',
      h('code', null, 'Authorization: Bearer gca_…'),
      '). Create a service account with ',
      h('code', null, 'users create --name ci-bot --role operator --service'),
      '.',
    ),
    h(
      'form',
      { class: 'filters card', 'data-testid': 'token-form', onsubmit: (e: SubmitEvent) => void submit(e) },
      name,
      user,
      h('label', { class: 'toolbar-label' }, 'Expires in days'),
      days,
      h('button', { class: 'btn btn-primary', type: 'submit', 'data-action': 'create-token' }, 'Create token'),
      formError,
    ),
    h(
      'div',
      { class: 'card table-wrap' },
      h(
        'table',
        { class: 'table table-hover', 'data-testid': 'tokens-table' },
        h('thead', null, h('tr', null, ...['Name', 'User', 'State', 'Created', 'Expires', 'Last used', ''].map((c) => h('th', null, c)))),
        tbody,
      ),
    ),
  );
  void load();
  return undefined;
}
