/**
 * The fixture of the end-to-end tests: X displays owned by real users (optional), the whole stack
 * in its own data directory, and a headless Chromium; `stop` ends them all in the right order.
 * `withStack` registers that start and stop as the calling suite's before / after hooks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
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

type E2eOptions = Parameters<typeof startE2eStack>[0];

/**
 * Call inside a `describe`: starts the e2e stack before its first test and stops it after its last.
 * The handle's fields are there once the suite's tests run; reading one earlier throws.
 */
export function withStack(opts: E2eOptions = {}): Omit<E2eStack, 'stop'> {
  let e2e: E2eStack | undefined;
  before(async () => {
    e2e = await startE2eStack(opts);
  });
  after(async () => {
    await e2e?.stop();
  });
  const started = (): E2eStack => {
    if (!e2e) throw new Error('the e2e stack is not running: read it inside a test or a later before()');
    return e2e;
  };
  return {
    get displays() {
      return started().displays;
    },
    get stack() {
      return started().stack;
    },
    get browser() {
      return started().browser;
    },
    get dataDir() {
      return started().dataDir;
    },
  };
}
