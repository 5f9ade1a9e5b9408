/** "Add machine" (admins): creates an enrollment key and shows the one-line install command per platform. */
import { api } from '../api.js';
import { openModal } from '../dialog.js';
import { h, replaceChildren } from '../dom.js';
import { dateTime } from '../format.js';
import { installCommands } from '../install-commands.js';

interface EnrollmentKey {
  key: string;
  site: string;
  reusable: boolean;
  expires_at: string;
}

/** Opens the dialog; the key is created only when the admin asks for it. */
export function openEnrollDialog(): void {
  const m = openModal('Add a machine', { wide: true });
  const site = h('input', { class: 'input', placeholder: 'Site (optional)', maxlength: '128' });
  const reusable = h('input', { type: 'checkbox' });
  const result = h('div', { 'data-testid': 'enroll-result' });
  const create = h(
    'button',
    {
      class: 'btn btn-primary',
      'data-action': 'create-key',
      onclick: async () => {
        create.disabled = true;
        const r = await api<EnrollmentKey>('POST', '/api/enrollment-keys', { site: site.value, reusable: reusable.checked });
        create.disabled = false;
        if (!r.ok) {
          replaceChildren(result, h('p', { class: 'error' }, `${r.error.error_code}: ${r.error.message}`));
          return;
        }
        const k = r.value;
        replaceChildren(
          result,
          h('p', null, `${k.reusable ? 'Reusable' : 'Single-use'} key, valid until ${dateTime(k.expires_at)}. It is shown only now.`),
          ...installCommands(location.origin, k.key).flatMap((c) => [
            h('h3', null, c.platform),
            h('p', { class: 'muted' }, `Download the ${c.platform} agent, then run in ${c.where}:`),
            h(
              'div',
              { class: 'copy-row' },
              h('code', { class: 'command', 'data-platform': c.platform }, c.command),
              h('button', { class: 'btn btn-sm', onclick: () => void navigator.clipboard?.writeText(c.command) }, 'Copy'),
            ),
          ]),
        );
      },
    },
    'Create enrollment key',
  );
  m.body.append(
    h(
      'p',
      null,
      'An enrollment key lets one machine (or several, when reusable) enroll its agent. The install command enrolls, stores the credentials for the service only, and starts the agent as a service.',
    ),
    h('div', { class: 'form-row' }, site, h('label', null, reusable, ' reusable'), create),
    result,
  );
}
