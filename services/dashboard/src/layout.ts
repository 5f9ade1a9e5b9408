/** The application frame: top bar with navigation and the signed-in user. */
import { h } from './dom.js';
import { navigate } from './router.js';
import { currentUser, hasRole, logout } from './session.js';

/** Renders the frame into `root` and returns the main content element. */
export function shell(root: HTMLElement, active: 'machines' | 'audit' | 'tokens' | 'viewer' | 'mfa'): HTMLElement {
  const user = currentUser();
  const link = (href: string, label: string, key: string) => h('a', { href, 'data-link': true, class: active === key ? 'nav-link active' : 'nav-link' }, label);
  const main = h('main', { class: active === 'viewer' ? 'main main-full' : 'main' });
  root.append(
    h(
      'header',
      { class: 'topbar' },
      h('a', { class: 'brand', href: '/', 'data-link': true }, h('img', { src: '/favicon.ico', alt: '', width: 20, height: 20 }), h('span', null, 'GuruConnect')),
      h(
        'nav',
        { class: 'nav' },
        link('/', 'Machines', 'machines'),
        hasRole(user, 'admin', 'auditor') ? link('/audit', 'Audit log', 'audit') : null,
        hasRole(user, 'admin') ? link('/tokens', 'API tokens', 'tokens') : null,
        link('/mfa', 'Second factor', 'mfa'),
      ),
      h(
        'div',
        { class: 'topbar-user' },
        user ? h('span', { class: 'user-chip', 'data-testid': 'current-user' }, user.name, h('span', { class: `role role-${user.role}` }, user.role)) : null,
        h(
          'button',
          {
            class: 'btn btn-ghost',
            onclick: async () => {
              await logout();
              navigate('/login');
            },
          },
          'Sign out',
        ),
      ),
    ),
    main,
  );
  return main;
}
