/**
 * Real Chromium for the end-to-end tests (playwright-core, the system's /usr/bin/chromium), plus the
 * few page helpers every e2e test needs: sign in, wait for a condition in the page, save a screenshot.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where e2e screenshots go (test-results/ at the repo root). */
export const resultsDir = join(repo, 'test-results');

/** The Chromium the tests run (never downloaded). */
export const chromiumPath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/**
 * Launches headless Chromium with the flags the brief fixes (no sandbox as root, no network chatter);
 * `executablePath` replaces the binary (e.g. a wrapper that starts it in a network namespace), `args` adds flags.
 */
export async function launchBrowser(opts: { executablePath?: string; args?: string[] } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: opts.executablePath ?? chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...(opts.args ?? [])],
  });
}

/** A fresh context (own cookies) with a page at a dashboard-sized viewport. */
export async function newPage(browser: Browser, opts: { width?: number; height?: number } = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: opts.width ?? 1400, height: opts.height ?? 900 } });
  const page = await context.newPage();
  return { context, page };
}

/** Signs in through the login form and waits for the page after it. */
export async function signIn(page: Page, baseUrl: string, user: { name: string; password: string }, next = '/'): Promise<void> {
  await page.goto(`${baseUrl}/login?next=${encodeURIComponent(next)}`);
  await page.fill('#login-name', user.name);
  await page.fill('#login-password', user.password);
  await page.click('form.login-card button[type=submit]');
  await page.waitForURL((u) => u.pathname === next.split('?')[0], { timeout: 15_000 });
}

/** Signs in as the stack's admin on its machine's page and enters backstage; returns the page's socket id. */
export async function openBackstage(page: Page, stack: { url: string; agentId?: string; admin: { name: string; password: string } }, session?: number): Promise<string> {
  // With a session of the test's own, the viewer never starts on another test's display that may
  // be gone by the time the stream starts (other test files start and stop displays side by side).
  await signIn(page, stack.url, stack.admin, `/machines/${stack.agentId}${session === undefined ? '' : `?session=${session}`}`);
  const enter = page.locator('[data-action=enter-backstage]');
  await enter.waitFor({ state: 'visible', timeout: 20_000 });
  const socketId = await page.evaluate(() => window.__gcViewer!.socketId);
  await enter.click();
  await page.locator('[data-testid=backstage]').waitFor({ state: 'visible' });
  return socketId;
}

/** Saves a full-page screenshot to test-results/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(resultsDir, { recursive: true });
  const path = join(resultsDir, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}

/** Collects the page's console errors and uncaught exceptions (asserted empty by tests). */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return errors;
}

/** Signs in over HTTP (no browser) and returns the session token and user. */
export async function apiLogin(baseUrl: string, user: { name: string; password: string }): Promise<{ token: string; user: { id: string; name: string; role: string } }> {
  const r = await fetch(`${baseUrl}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(user) });
  if (!r.ok) throw new Error(`login of ${user.name} failed: ${r.status} ${await r.text()}`);
  return (await r.json()) as { token: string; user: { id: string; name: string; role: string } };
}

/** As `admin`, grants `user` access to machine `agentId` (non-admins see only granted machines). */
export async function grantMachine(baseUrl: string, admin: { name: string; password: string }, user: { name: string; password: string }, agentId: string): Promise<void> {
  const [a, u] = await Promise.all([apiLogin(baseUrl, admin), apiLogin(baseUrl, user)]);
  const r = await fetch(`${baseUrl}/api/users/${u.user.id}/grants`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: `gc_session=${encodeURIComponent(a.token)}` },
    body: JSON.stringify({ agent_id: agentId }),
  });
  if (!r.ok) throw new Error(`grant failed: ${r.status} ${await r.text()}`);
}
