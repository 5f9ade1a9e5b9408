/**
 * "Add machine" in real Chromium against the whole stack (issue 15): an admin creates an enrollment
 * key and sees one install command per platform; the key in the shown Linux command really enrolls
 * (through the installer's own argument parser and enrollment call). Non-admins get no button.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { enroll } from '../../agent/install/enroll.js';
import { parseInstallArgs } from '../../agent/install/install-args.js';
import type { Stack } from '../../infra/launcher/stack.js';
import { collectPageErrors, newPage, screenshot, signIn } from '../support/browser.js';
import { type E2eStack, startE2eStack } from '../support/e2e-stack.js';

describe('dashboard: Add machine shows the install commands (real Chromium, whole stack)', () => {
  let e2e: E2eStack | undefined;
  let stack: Stack;
  let browser: Browser;

  before(async () => {
    e2e = await startE2eStack();
    ({ stack, browser } = e2e);
  });
  after(async () => {
    await e2e?.stop();
  });

  it('an admin creates a key; the shown commands name this gateway and a key that enrolls', async () => {
    const { page } = await newPage(browser);
    const errors = collectPageErrors(page);
    await signIn(page, stack.url, stack.admin, '/');
    await page.click('[data-action=add-machine]');
    await page.click('[data-action=create-key]');
    const win = page.locator('code[data-platform=Windows]');
    const linux = page.locator('code[data-platform=Linux]');
    await linux.waitFor({ state: 'visible' });
    const winCmd = (await win.textContent()) ?? '';
    const linuxCmd = (await linux.textContent()) ?? '';
    await screenshot(page, 'enroll-dialog');
    assert.match(winCmd, new RegExp(`^\\.\\\\guruconnect-agent\\.exe install --server ${stack.url} --enroll-key gce_\\S+$`));
    assert.match(linuxCmd, new RegExp(`^sudo \\./guruconnect-agent install --server ${stack.url} --enroll-key gce_\\S+$`));
    assert.equal(winCmd.split(' ').at(-1), linuxCmd.split(' ').at(-1), 'one key in both commands');

    const words = linuxCmd.split(' ');
    const args = parseInstallArgs([...words.slice(words.indexOf('install') + 1), '--agent-id', 'dialog-enrolled']);
    assert.ok(args.ok);
    const r = await enroll(args.value, 'dialog-host');
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(errors, []);
  });

  it('a viewer has no Add machine button', async () => {
    const viewer = await stack.createUser('vera-enroll', 'viewer');
    const { page } = await newPage(browser);
    await signIn(page, stack.url, viewer, '/');
    await page.locator('[data-testid=machines-table]').waitFor();
    assert.equal(await page.locator('[data-action=add-machine]').count(), 0);
  });
});
