/**
 * Backstage beyond one command, in real Chromium against the whole stack: a command run as the
 * second session's user (and its audit row naming that user and session), commands running side by
 * side in one visit with their own output and their own cancel, and the sampled CPU % column.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { withStack } from '../support/e2e-stack.js';
import { eventually, login } from '../support/api.js';
import { collectPageErrors, newPage, openBackstage, screenshot } from '../support/browser.js';

interface AuditRow {
  event_type: string;
  user_name: string | null;
  session_id: string | number | null;
  details: Record<string, unknown> | null;
  created_at: string;
}

async function typeCommand(page: Page, command: string): Promise<void> {
  await page.locator('[data-testid=terminal]').click();
  await page.keyboard.type(command);
  await page.keyboard.press('Enter');
}
const termText = (page: Page) => page.evaluate(() => window.__gcViewer!.terminalText());

/** Escapes `s` for use inside a RegExp. */
const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('dashboard: backstage as a session user, concurrent commands, CPU column', { timeout: 120_000 }, () => {
  const e2e = withStack({ users: ['gc-alice', 'gc-bob'], colors: ['#ff0000', '#0000ff'] });
  let context: BrowserContext | undefined;
  let page: Page;
  let errors: string[];

  // Each case has its own signed-in page in backstage: none depends on what another left behind.
  beforeEach(async () => {
    ({ context, page } = await newPage(e2e.browser));
    errors = collectPageErrors(page);
    // Linux session ids are the display number + 1.
    await openBackstage(page, e2e.stack, e2e.displays.displays[0]!.display + 1);
  });
  afterEach(async () => {
    await context?.close();
  });

  it("runs `id -un` as the second session's user and audits who it ran as", async () => {
    const { stack } = e2e;
    const bobSession = e2e.displays.displays[1]!.display + 1;
    await page.waitForFunction((sid) => !!document.querySelector(`[data-testid=run-as] option[value="${sid}"]`), bobSession, { timeout: 20_000 });
    await page.selectOption('[data-testid=run-as]', String(bobSession));
    assert.match((await page.locator('[data-testid=run-as-badge]').textContent()) ?? '', new RegExp(`as gc-bob \\(session ${bobSession}\\)`));
    await typeCommand(page, 'id -un');
    await page.waitForFunction(() => /\[exit \d+[^\]]*as gc-bob/.test(window.__gcViewer!.terminalText()), null, { timeout: 20_000 });
    const lines = (await termText(page)).split('\n').map((l) => l.trim());
    const at = lines.findIndex((l) => l.endsWith('> id -un'));
    assert.ok(at >= 0 && lines[at]!.startsWith('gc-bob@'), `the prompt names the run-as user: ${lines[at]}`);
    assert.equal(lines[at + 1], 'gc-bob');
    assert.match(lines[at + 2] ?? '', /^\[exit 0 · \d+ ms · as gc-bob\]/);
    await screenshot(page, 'backstage-run-as-bob');

    const admin = await login(stack.url, stack.admin.name, stack.admin.password);
    const row = await eventually(async () => {
      const r = await admin.get<{ events: AuditRow[] }>('/api/audit?limit=200');
      return r.body.events.find((e) => e.event_type === 'backstage_command' && e.details?.['command_text'] === 'id -un' && 'run_as_user' in (e.details ?? {}));
    }, 'the audit row of `id -un` with its outcome');
    assert.equal(row.user_name, 'admin');
    assert.equal(row.details?.['as_session_id'], bobSession, JSON.stringify(row.details));
    assert.equal(row.details?.['run_as_user'], 'gc-bob', JSON.stringify(row.details));
    assert.equal(JSON.stringify(row.details).includes('"gc-bob\\n"'), false, 'the audit row never holds the output');

    // Back to Session 0: the agent's own account.
    await page.selectOption('[data-testid=run-as]', '0');
    await typeCommand(page, 'id -un');
    await page.waitForFunction(
      () => {
        const t = window.__gcViewer!.terminalText();
        const i = t.lastIndexOf('> id -un');
        return t.split('> id -un').length === 3 && t.slice(i).includes('[exit');
      },
      null,
      { timeout: 20_000 },
    );
    const last = (await termText(page)).split('\n').map((l) => l.trim());
    const at2 = last.findLastIndex((l) => l.endsWith('> id -un'));
    assert.ok(last[at2]!.startsWith('backstage@'), last[at2]);
    assert.equal(last[at2 + 1], 'root');
  });

  it('runs commands side by side: each has its own output and is cancelled on its own', async () => {
    // The short job ends when the test says so (a file appears), not after a sleep: it is certainly
    // still running when the long one is cancelled.
    const gateDir = mkdtempSync(join(tmpdir(), 'gc-e2e-gate-'));
    const gate = join(gateDir, 'go');
    const short = `until [ -e ${gate} ]; do sleep 0.1; done; echo one`;
    try {
      await typeCommand(page, `${short} &`);
      await typeCommand(page, 'sleep 60; echo never &');
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=jobs] li[data-job-id]').length === 2, null, { timeout: 10_000 });
      const listed = await page.locator('[data-testid=jobs] li').allTextContents();
      assert.ok(listed.some((t) => t.includes(short)) && listed.some((t) => t.includes('sleep 60; echo never')), listed.join('\n'));
      // A foreground command while both run in the background.
      await typeCommand(page, 'echo two');
      await page.waitForFunction(() => /> echo two\s*\n\s*two\s*\n\s*\[exit 0/.test(window.__gcViewer!.terminalText()), null, { timeout: 20_000 });
      await screenshot(page, 'backstage-jobs-running');
      // Cancel only the long one.
      const never = page.locator('[data-testid=jobs] li', { hasText: 'sleep 60' });
      const neverN = await never.getAttribute('data-job-n');
      await never.locator('[data-action=cancel-job]').click();
      await page.waitForFunction((n) => new RegExp(`\\[${n}\\] done: sleep 60; echo never\\s*\\n\\s*\\[exit -?\\d+[^\\]]*cancelled`).test(window.__gcViewer!.terminalText()), neverN, {
        timeout: 20_000,
      });
      // The short one was not touched by that cancel: still listed, not done.
      assert.deepEqual(
        (await page.locator('[data-testid=jobs] li').allTextContents()).map((t) => t.includes(short)),
        [true],
        'only the short job is left running',
      );
      assert.doesNotMatch(await termText(page), new RegExp(`done: ${literal(short)}`), 'the short job has not ended');
      // Released, it ends normally with its own output.
      writeFileSync(gate, '');
      const doneLine = new RegExp(`\\] done: ${literal(short)}\\s*\\n\\s*one\\s*\\n\\s*(\\[exit [^\\]]*\\])`);
      await page.waitForFunction((re) => new RegExp(re).test(window.__gcViewer!.terminalText()), doneLine.source, { timeout: 20_000 });
      const exit = doneLine.exec(await termText(page))?.[1] ?? '';
      assert.match(exit, /^\[exit 0 · \d+ ms( · as \S+)?\]$/, 'the short job exited 0, not cancelled');
      const text = await termText(page);
      assert.equal(
        text.split('\n').some((l) => l.trim() === 'never'),
        false,
        'the cancelled command printed nothing',
      );
      assert.equal(await page.locator('[data-testid=jobs] li').count(), 0);
      await screenshot(page, 'backstage-jobs-done');
    } finally {
      rmSync(gateDir, { recursive: true, force: true });
    }
  });

  it('lists processes with a sampled CPU % and memory, sortable by either', async () => {
    await page.click('[data-tab=processes]');
    await page.waitForFunction(() => !!document.querySelector('[data-testid=processes-table] th[data-sort-key=cpu]'), null, { timeout: 20_000 });
    assert.equal(await page.locator('[data-testid=cpu-sample]').isChecked(), true);
    const cpuCol = await page.locator('[data-testid=processes-table] th').allTextContents();
    const cpuIdx = cpuCol.findIndex((t) => t.startsWith('CPU %'));
    const memIdx = cpuCol.findIndex((t) => t.startsWith('Memory'));
    assert.ok(cpuIdx >= 0 && memIdx >= 0, cpuCol.join(','));
    await page.click('[data-testid=processes-table] th[data-sort-key=cpu]');
    const cpu = (await page.locator(`[data-testid=processes-table] tbody tr td:nth-child(${cpuIdx + 1})`).allTextContents()).map(Number);
    assert.ok(cpu.length > 5 && cpu.every((x) => Number.isFinite(x) && x >= 0), cpu.slice(0, 10).join(','));
    assert.deepEqual(
      cpu,
      [...cpu].sort((x, y) => y - x),
      'sorted by CPU %, largest first',
    );
    await screenshot(page, 'backstage-processes-cpu');
    assert.deepEqual(await page.evaluate(() => window.__gcViewer!.errors), []);
    assert.deepEqual(
      errors.filter((e) => !e.includes('401')),
      [],
    );
  });
});
