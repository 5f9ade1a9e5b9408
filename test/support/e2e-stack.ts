/**
 * The fixture of the end-to-end tests: X displays owned by real users (optional), the whole stack
 * in its own data directory, and a headless Chromium; `stop` ends them all in the right order.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { type Stack, startStack } from '../../infra/launcher/stack.js';
import { launchBrowser } from './browser.js';
import { startUserDisplays } from '../../infra/servers/x-displays.js';

export interface E2eStack {
  displays: Awaited<ReturnType<typeof startUserDisplays>>;
  stack: Stack;
  browser: Browser;
  dataDir: string;
  stop(): Promise<void>;
}

/** Starts displays for `users` (painted `colors`), the stack (1 s heartbeats) and Chromium. */
export async function startE2eStack(opts: { users?: string[]; colors?: string[] } = {}): Promise<E2eStack> {
  const displays = await startUserDisplays(opts.users ?? [], { colors: opts.colors });
  const dataDir = mkdtempSync(join(tmpdir(), 'gc-e2e-'));
  let stack: Stack | undefined;
  let browser: Browser | undefined;
  const stop = async () => {
    await browser?.close();
    await stack?.stop();
    await displays.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    stack = await startStack({ dataDir, fastPostgres: true, heartbeatMs: 1000 });
    browser = await launchBrowser();
    return { displays, stack, browser, dataDir, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
