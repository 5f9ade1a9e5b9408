/** History-API routing: the gateway answers every page path with index.html. */

/** A mounted page returns its cleanup (sockets, timers). */
export type Cleanup = () => void;
export type PageRender = (root: HTMLElement, params: Record<string, string>, query: URLSearchParams) => Cleanup | undefined | Promise<Cleanup | undefined>;

interface Route {
  pattern: RegExp;
  keys: string[];
  render: PageRender;
}

const routes: Route[] = [];
let cleanup: Cleanup | undefined;
let root: HTMLElement;
let renderSeq = 0;

/** Registers a path like "/machines/:agentId". */
export function route(path: string, render: PageRender): void {
  const keys: string[] = [];
  const pattern = new RegExp(
    `^${path.replace(/:([a-zA-Z]+)/g, (_m, k: string) => {
      keys.push(k);
      return '([^/]+)';
    })}/?$`,
  );
  routes.push({ pattern, keys, render });
}

/** Goes to `path` (pushState) and renders it. */
export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  void render();
}

async function render(): Promise<void> {
  const seq = ++renderSeq;
  cleanup?.();
  cleanup = undefined;
  const path = location.pathname;
  const query = new URLSearchParams(location.search);
  const found = routes.find((r) => r.pattern.test(path)) ?? routes.find((r) => r.pattern.test('/'));
  if (!found) return;
  const m = found.pattern.exec(path);
  const params: Record<string, string> = {};
  found.keys.forEach((k, i) => {
    params[k] = decodeURIComponent(m?.[i + 1] ?? '');
  });
  root.replaceChildren();
  const c = await found.render(root, params, query);
  // A newer navigation started while this page was loading: drop this one.
  if (seq !== renderSeq) c?.();
  else cleanup = c ?? undefined;
}

/** Starts routing in `el`: renders the current URL and follows links marked data-link. */
export function startRouter(el: HTMLElement): void {
  root = el;
  window.addEventListener('popstate', () => void render());
  document.addEventListener('click', (e) => {
    const a = (e.target as Element | null)?.closest?.('a[data-link]') as HTMLAnchorElement | null;
    if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    navigate(a.getAttribute('href') ?? '/');
  });
  void render();
}
