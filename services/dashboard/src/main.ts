/** Dashboard entry: styles, routes, and the sign-in guard. */
import '@xterm/xterm/css/xterm.css';
import './styles.css';
import { h } from './dom.js';
import { auditPage } from './pages/audit-page.js';
import { loginPage } from './pages/login-page.js';
import { machinesPage } from './pages/machines-page.js';
import { tokensPage } from './pages/tokens-page.js';
import { type PageRender, navigate, route, startRouter } from './router.js';
import { mfaPage } from './pages/mfa-page.js';
import { currentUser, loadMe, mustSetUpMfa } from './session.js';
import { viewerPage } from './viewer/viewer-page.js';

/**
 * Pages other than /login need a signed-in user; unknown users go to /login?next=<here>. A user
 * whose role must use a second factor and has none goes to /mfa first (the API refuses the rest).
 */
const guarded =
  (render: PageRender): PageRender =>
  async (root, params, query) => {
    if (!currentUser() && !(await loadMe())) {
      navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, true);
      return undefined;
    }
    if (mustSetUpMfa() && location.pathname !== '/mfa') {
      navigate(`/mfa?next=${encodeURIComponent(location.pathname + location.search)}`, true);
      return undefined;
    }
    return render(root, params, query);
  };

route('/login', loginPage);
route('/machines/:agentId', guarded(viewerPage));
route('/audit', guarded(auditPage));
route('/tokens', guarded(tokensPage));
route('/mfa', guarded(mfaPage));
route('/', guarded(machinesPage));

const app = document.getElementById('app') ?? document.body.appendChild(h('div', { id: 'app' }));
startRouter(app);
