/**
 * API tokens in real Chromium against the whole stack: an admin creates a token for a service
 * account on the API tokens page (shown once, copied), a script uses it over HTTP to run a backstage
 * `echo` on the local agent, the admin revokes it after confirming, and the script gets 401
 * TOKEN_REVOKED.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import type { Stack } from '../../infra/launcher/stack.js';
import { main as authCli } from '../../services/auth/cli.js';
import { eventually } from '../support/api.js';
import { collectPageErrors, newPage, screenshot, signIn } from '../support/browser.js';
import { type E2eStack, startE2eStack } from '../support/e2e-stack.js';

describe('dashboard: API tokens (real Chromium, whole stack)', () => {
  let e2e: E2eStack | undefined;
  let stack: Stack;
  let browser: Browser;

  before(async () => {
    e2e = await startE2eStack();
    ({ stack, browser } = e2e);
    const out: string[] = [];
    const io = {
      env: { DATABASE_URL: stack.databaseUrl, NATS_URL: stack.natsUrl, NATS_CA: stack.natsCa, NATS_CREDS: await stack.credsFor('launcher') },
      out: (l: string) => out.push(l),
      err: (l: string) => out.push(l),
    };
    // Backstage is admin-only, so the nightly script's service account is an admin.
    assert.equal(await authCli(['users', 'create', '--name', 'nightly-bot', '--role', 'admin', '--service'], io), 0, out.join('\n'));
  });
  after(async () => {
    await e2e?.stop();
  });

  it('creates a token in the browser, runs a backstage echo with it over HTTP, revokes it, and sees TOKEN_REVOKED', async () => {
    const { context, page } = await newPage(browser);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.url });
    const errors = collectPageErrors(page);
    await signIn(page, stack.url, stack.admin, '/tokens');
    await page.locator('.nav-link.active', { hasText: 'API tokens' }).waitFor({ state: 'visible' });

    await page.fill('input[name=name]', 'nightly backup');
    await page.fill('input[name=user]', 'nightly-bot');
    await page.fill('input[name=expires_in_days]', '30');
    await page.click('[data-action=create-token]');
    const field = page.locator('[data-testid=new-token]');
    await field.waitFor({ state: 'visible' });
    const token = await field.inputValue();
    assert.match(token, /^gca_[A-Za-z0-9_-]{43}$/);
    await page.click('[data-action=copy-token]');
    await page.locator('[data-testid=copy-status]', { hasText: 'Copied.' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), token);
    await screenshot(page, 'api-token-created');
    await page.click('[data-action=close-token]');
    assert.equal(await field.count(), 0, 'the token is gone once the dialog closes');

    const row = page.locator('[data-testid=tokens-table] tbody tr', { hasText: 'nightly backup' });
    await row.waitFor();
    assert.equal(await row.locator('[data-testid=token-state]').textContent(), 'active');
    assert.ok(!(await page.content()).includes(token), 'the page shows the token nowhere after the dialog');

    // The script: plain HTTP with the bearer token, no password, no session.
    const bearer = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const exec = async () => fetch(`${stack.url}/api/machines/${stack.agentId}/backstage/exec`, { method: 'POST', headers: bearer, body: JSON.stringify({ command: 'echo nightly-ok', shell: 'sh' }) });
    const ran = await eventually(
      async () => {
        const r = await exec();
        const body = (await r.json()) as { stdout?: string; exit_code?: number; error_code?: string };
        // The agent may still be coming online; anything else is a failure.
        if (body.error_code === 'AGENT_OFFLINE' || body.error_code === 'MACHINE_NOT_FOUND') return undefined;
        return { status: r.status, body };
      },
      'the agent online and the backstage echo',
      30_000,
      500,
    );
    assert.equal(ran.status, 200, JSON.stringify(ran.body));
    assert.equal(ran.body.stdout?.trim(), 'nightly-ok');
    assert.equal(ran.body.exit_code, 0);

    await page.reload();
    await row.waitFor();
    assert.notEqual((await row.locator('td').nth(5).textContent())?.trim(), 'never', 'last used is shown after the script ran');

    await row.locator('[data-action=revoke-token]').click();
    await page.locator('[data-confirm=yes]').waitFor();
    await screenshot(page, 'api-token-revoke-confirm');
    await page.click('[data-confirm=yes]');
    await page.locator('[data-testid=tokens-table] tbody tr', { hasText: 'nightly backup' }).locator('[data-testid=token-state]', { hasText: 'revoked' }).waitFor();
    await screenshot(page, 'api-token-revoked');

    const refused = await exec();
    assert.equal(refused.status, 401);
    const env = (await refused.json()) as { error_code: string; message: string; correlation_id: string };
    assert.equal(env.error_code, 'TOKEN_REVOKED');
    assert.match(env.message, /nightly backup/);
    assert.ok(env.correlation_id);
    assert.deepEqual(errors, []);
    await context.close();
  });
});
