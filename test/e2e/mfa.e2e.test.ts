/**
 * Issue 16 in real Chromium against the whole stack started with GC_MFA_REQUIRED=operator: an
 * operator without a factor is taken to set-up before anything else, sets it up from the QR page
 * (key as text and QR code, one code, ten recovery codes), signs in with password then code (and
 * once with a recovery code); an admin resets the factor. And the dashboard's pages raise no
 * Content-Security-Policy violation (the detector is shown to catch one).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { type Stack, startStack } from '../../infra/launcher/stack.js';
import { timeStep, totpCode } from '../../services/auth/totp.js';
import { apiLogin, launchBrowser, newPage, screenshot, signIn } from '../support/browser.js';

/** Console messages about the Content-Security-Policy (Chromium logs every violation as an error). */
function collectCspViolations(page: Page): string[] {
  const found: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Content-Security-Policy/i.test(m.text())) found.push(`${m.type()}: ${m.text()}`);
  });
  return found;
}

async function signOut(page: Page): Promise<void> {
  await page.click('.topbar-user button');
  await page.waitForURL((u) => u.pathname === '/login');
}

describe('dashboard: second factor and CSP (real Chromium, whole stack, GC_MFA_REQUIRED=operator)', () => {
  let stack: Stack | undefined;
  let browser: Browser | undefined;
  let dataDir: string;
  let olive: { name: string; password: string };

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'gc-e2e-mfa-'));
    stack = await startStack({ dataDir, fastPostgres: true, heartbeatMs: 1000, env: { GC_MFA_REQUIRED: 'operator' } });
    browser = await launchBrowser();
    olive = await stack.createUser('olive', 'operator');
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('the dashboard pages raise no CSP violation; an inline script would', async () => {
    const { context, page } = await newPage(browser!);
    const csp = collectCspViolations(page);
    await signIn(page, stack!.url, stack!.admin, '/');
    await page.locator('.nav-link.active', { hasText: 'Machines' }).waitFor();
    for (const path of ['/audit', '/tokens', '/mfa', `/machines/${stack!.agentId}`]) {
      await page.goto(`${stack!.url}${path}`);
      await page.locator('.topbar').waitFor();
      await page.waitForLoadState('networkidle').catch(() => {});
    }
    await page.goto(`${stack!.url}/api/docs`);
    await page.locator('.swagger-ui').first().waitFor();
    await page.waitForLoadState('networkidle').catch(() => {});
    assert.deepEqual(csp, [], 'no page of the dashboard (nor the API docs) breaks its policy');
    const res = await page.request.get(`${stack!.url}/`);
    assert.match(res.headers()['content-security-policy'] ?? '', /script-src 'self';/);

    // The detector is real: an inline script is blocked and reported.
    await page.goto(`${stack!.url}/mfa`);
    await page.locator('[data-testid=mfa-card]').waitFor();
    const ran = await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.__inline = 1';
      document.body.append(s);
      return (window as unknown as { __inline?: number }).__inline === 1;
    });
    assert.equal(ran, false, 'the inline script did not run');
    await page.waitForTimeout(200);
    assert.ok(
      csp.some((m) => /script-src/.test(m)),
      `the violation was reported: ${csp.join(' | ')}`,
    );
    await context.close();
  });

  it('a required operator is taken to set-up, sets up the factor from the QR page, and signs in with password then code', async () => {
    const { context, page } = await newPage(browser!);
    const csp = collectCspViolations(page);
    // Asked for the machines list, the operator lands on set-up: the API refuses everything else.
    await signIn(page, stack!.url, olive, '/mfa');
    await page.goto(`${stack!.url}/`);
    await page.waitForURL((u) => u.pathname === '/mfa');
    await page.locator('[data-testid=mfa-required]').waitFor();
    const machines = await page.request.get(`${stack!.url}/api/machines`);
    assert.equal(machines.status(), 403);
    assert.equal(((await machines.json()) as { error_code: string }).error_code, 'MFA_SETUP_REQUIRED');
    await screenshot(page, 'mfa-required');

    await page.click('[data-action=mfa-setup]');
    const qr = page.locator('#mfa-qr');
    await qr.waitFor();
    assert.ok(await qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 100), 'the QR code image rendered');
    const secret = ((await page.locator('#mfa-secret').textContent()) ?? '').replace(/\s/g, '');
    assert.match(secret, /^[A-Z2-7]{32}$/);
    await screenshot(page, 'mfa-setup-qr');
    await page.fill('#mfa-code', '000000' === totpCode(secret, Date.now()) ? '111111' : '000000');
    await page.click('.mfa-confirm button[type=submit]');
    await page.locator('[data-testid=mfa-error]', { hasText: 'MFA_CODE_INVALID' }).waitFor();
    const confirmedStep = timeStep(Date.now());
    await page.fill('#mfa-code', totpCode(secret, Date.now()));
    await page.click('.mfa-confirm button[type=submit]');
    const codes = page.locator('[data-testid=recovery-codes] li');
    await codes.first().waitFor();
    const recovery = await codes.allTextContents();
    assert.equal(recovery.length, 10);
    await screenshot(page, 'mfa-recovery-codes');
    await page.click('[data-action=mfa-done]');
    await page.waitForURL((u) => u.pathname === '/');
    await page.locator('.nav-link.active', { hasText: 'Machines' }).waitFor();

    // Sign in again: password, then the code step.
    await signOut(page);
    await page.fill('#login-name', olive.name);
    await page.fill('#login-password', olive.password);
    await page.click('form.login-card button[type=submit]');
    await page.locator('#login-code').waitFor();
    await screenshot(page, 'mfa-login-code-step');
    await page.fill('#login-code', '12345x');
    await page.click('form.login-card button[type=submit]');
    await page.locator('form[data-step=mfa] .form-error', { hasText: 'MFA_CODE_INVALID' }).waitFor();
    // The set-up used this step's code: wait for the next step, whose code is new.
    while (timeStep(Date.now()) <= confirmedStep) await page.waitForTimeout(500);
    await page.fill('#login-code', totpCode(secret, Date.now()));
    await page.click('form.login-card button[type=submit]');
    await page.waitForURL((u) => u.pathname === '/');
    await page.locator('[data-testid=current-user]', { hasText: 'olive' }).waitFor();
    await screenshot(page, 'mfa-signed-in');

    // And once with a recovery code.
    await signOut(page);
    await page.fill('#login-name', olive.name);
    await page.fill('#login-password', olive.password);
    await page.click('form.login-card button[type=submit]');
    await page.fill('#login-code', recovery[0]!);
    await page.click('form.login-card button[type=submit]');
    await page.waitForURL((u) => u.pathname === '/');
    await page.goto(`${stack!.url}/mfa`);
    await page.locator('[data-testid=mfa-state]').waitFor();
    assert.match((await page.locator('[data-testid=mfa-card]').textContent()) ?? '', /Recovery codes left: 9/);
    assert.deepEqual(csp, []);

    // An admin resets the factor: the next sign-in needs only the password, and set-up comes first again.
    const admin = await apiLogin(stack!.url, stack!.admin);
    const pw = await fetch(`${stack!.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(olive) });
    const pwBody = (await pw.json()) as { mfa_required?: boolean; token?: string };
    assert.equal(pwBody.mfa_required, true, 'the password alone gives no session while the factor is on');
    assert.equal(pwBody.token, undefined);
    const oliveId = await page.evaluate(async () => ((await (await fetch('/api/auth/me')).json()) as { user: { id: string } }).user.id);
    const reset = await fetch(`${stack!.url}/api/users/${oliveId}/mfa/reset`, { method: 'POST', headers: { authorization: `Bearer ${admin.token}` } });
    assert.equal(reset.status, 200, await reset.text());
    await context.close();
    const again = await newPage(browser!);
    await signIn(again.page, stack!.url, olive, '/mfa');
    await again.page.locator('[data-testid=mfa-required]').waitFor();
    await again.context.close();
  });
});
