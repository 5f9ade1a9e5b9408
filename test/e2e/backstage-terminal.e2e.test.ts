/**
 * The interactive shell of backstage in real Chromium against the whole stack: an admin switches the
 * terminal to "Interactive shell", types into a real pty (state kept between commands), and the
 * Commands mode still works beside it.
 */
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { describe, it } from 'node:test';
import { withStack } from '../support/e2e-stack.js';
import { collectPageErrors, newPage, openBackstage, screenshot } from '../support/browser.js';

describe('dashboard: backstage interactive shell (real Chromium, whole stack)', () => {
  const e2e = withStack();

  it('admin: switches to Interactive shell, types into a pty, and Commands mode still runs commands', async () => {
    const { stack, browser } = e2e;
    const { context, page } = await newPage(browser);
    const errors = collectPageErrors(page);
    await openBackstage(page, stack);

    await page.click('[data-testid=terminal-mode] [data-mode=shell]');
    await page.locator('[data-testid=pty-terminal]').waitFor({ state: 'visible' });
    assert.equal(await page.locator('[data-testid=terminal]').isVisible(), false);
    await page.waitForFunction(() => document.querySelector('[data-testid=pty-terminal]')?.getAttribute('data-state') === 'open', null, { timeout: 20_000 });
    // The shell's prompt arrives before we type (bash prints it once it reads the pty).
    await page.waitForFunction(() => /[#$]$/m.test(window.__gcViewer!.terminalText()), null, { timeout: 20_000 });

    await page.locator('[data-testid=pty-terminal]').click();
    await page.keyboard.type('cd /tmp; export GC_E2E=pty-state');
    await page.keyboard.press('Enter');
    await page.keyboard.type('echo hi-from-pty $GC_E2E $(pwd)');
    await page.keyboard.press('Enter');
    await page.waitForFunction(
      () =>
        window
          .__gcViewer!.terminalText()
          .split('\n')
          .some((l) => l.trim() === 'hi-from-pty pty-state /tmp'),
      null,
      { timeout: 20_000 },
    );
    const text = await page.evaluate(() => window.__gcViewer!.terminalText());
    assert.match(text, /Interactive shell as root/);
    assert.ok(
      text.split('\n').some((l) => l.trim() === 'hi-from-pty pty-state /tmp'),
      text,
    );
    // Rendered, not only in the buffer (xterm paints on the next animation frame: wait for it, as a person sees it).
    await page.locator('[data-testid=pty-terminal] .xterm-rows', { hasText: 'hi-from-pty pty-state /tmp' }).waitFor({ timeout: 20_000 });
    await screenshot(page, 'backstage-interactive-shell');

    // The panel's size reached the pty: stty size is the xterm's rows and columns.
    await page.keyboard.type('stty size');
    await page.keyboard.press('Enter');
    const size = await page.waitForFunction(
      () => {
        const m = /^(\d+) (\d+)$/m.exec(window.__gcViewer!.terminalText());
        return m ? `${m[1]} ${m[2]}` : false;
      },
      null,
      { timeout: 20_000 },
    );
    const [rows, cols] = String(await size.jsonValue())
      .split(' ')
      .map(Number);
    // The xterm's own size: its rows are the renderer's row elements; its columns are where it wraps
    // a line longer than any panel (the pty does not wrap; the terminal does).
    await page.keyboard.type('printf "%0300d\\n" 0');
    await page.keyboard.press('Enter');
    const wrapped = await page.waitForFunction(
      () =>
        window
          .__gcViewer!.terminalText()
          .split('\n')
          .find((l) => /^0+$/.test(l.trim()))
          ?.trim().length ?? false,
      null,
      { timeout: 20_000 },
    );
    const xterm = await page.evaluate(() => {
      const el = document.querySelector<HTMLElement>('[data-testid=pty-terminal]')!;
      const screen = el.querySelector<HTMLElement>('.xterm-screen')!.getBoundingClientRect();
      return { rows: el.querySelector('.xterm-rows')!.children.length, screenWidth: screen.width, screenHeight: screen.height, panelWidth: el.clientWidth, panelHeight: el.clientHeight };
    });
    const xtermCols = Number(await wrapped.jsonValue());
    console.log(`pty ${rows}x${cols}; xterm ${xterm.rows}x${xtermCols}, ${Math.round(xterm.screenWidth)}x${Math.round(xterm.screenHeight)} px in a ${xterm.panelWidth}x${xterm.panelHeight} px panel`);
    assert.deepEqual({ rows, cols }, { rows: xterm.rows, cols: xtermCols }, "the pty has the xterm's size");
    // And that size is fitted to the panel, not xterm's 80x24 default: what the fit leaves over is
    // less than a cell (plus, across, the scrollbar it keeps room for).
    const cell = { width: xterm.screenWidth / xtermCols, height: xterm.screenHeight / xterm.rows };
    const spare = { width: xterm.panelWidth - xterm.screenWidth, height: xterm.panelHeight - xterm.screenHeight };
    assert.ok(spare.width >= 0 && spare.width < cell.width + 16, `columns fill the panel: ${spare.width} px spare, cells ${cell.width} px`);
    assert.ok(spare.height >= 0 && spare.height < cell.height, `rows fill the panel: ${spare.height} px spare, cells ${cell.height} px`);

    // Ending the shell says so; Commands mode runs a command as before.
    await page.click('[data-action=close-shell]');
    await page.waitForFunction(() => /\[shell ended · exit/.test(window.__gcViewer!.terminalText()), null, { timeout: 20_000 });
    await page.click('[data-testid=terminal-mode] [data-mode=commands]');
    await page.locator('[data-testid=terminal]').click();
    await page.keyboard.type('hostname');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /\[exit \d+/.test(window.__gcViewer!.terminalText()), null, { timeout: 20_000 });
    assert.ok((await page.evaluate(() => window.__gcViewer!.terminalText())).split('\n').some((l) => l.trim() === hostname()));

    // No X display runs in this test (the terminal needs none): only the screen's watch is refused.
    assert.deepEqual(
      (await page.evaluate(() => window.__gcViewer!.errors)).filter((e) => e.error_code !== 'SESSION_NOT_FOUND'),
      [],
    );
    assert.deepEqual(
      errors.filter((e) => !e.includes('401')),
      [],
    );
    await context.close();
  });
});
