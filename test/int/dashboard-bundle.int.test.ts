/**
 * The gateway bundles the dashboard from source (no prebuilt one beside it) without keeping esbuild:
 * its service process (36-65 MiB, issue 15) ends with the build. Prebuilt, the files are the same app.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { bundleDashboard, writeDashboard } from '../../services/gateway/routes/dashboard.js';
import { processTree } from '../support/process-memory.js';

/** esbuild service processes among this process's descendants (tsx, which runs this test, has one of its own). */
const esbuildServices = () =>
  processTree(process.pid).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--service=');
    } catch {
      return false;
    }
  });

describe('dashboard bundle', () => {
  it('bundles in memory once and leaves no esbuild service process behind', async () => {
    const before = esbuildServices();
    const [a, b] = await Promise.all([bundleDashboard(), bundleDashboard()]);
    assert.equal(a, b, 'one bundle per process, however many apps ask');
    assert.ok(a.get('/assets/main.js')?.body.length, 'the app script is there');
    assert.ok(a.get('/assets/main.css')?.body.length, 'the styles are there');
    // stop() kills the service; its exit reaches /proc a moment later.
    let after = esbuildServices();
    for (let i = 0; i < 50 && after.length > before.length; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = esbuildServices();
    }
    assert.deepEqual(after, before);
  });

  it('writes the same app to disk for a built stack, with the static files beside it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gc-dashboard-'));
    try {
      await writeDashboard(dir);
      assert.deepEqual(readdirSync(join(dir, 'assets')).sort(), ['main.css', 'main.css.map', 'main.js', 'main.js.map']);
      assert.ok(readdirSync(join(dir, 'public')).includes('index.html'));
      const memory = await bundleDashboard();
      assert.equal(readFileSync(join(dir, 'assets', 'main.js')).length, memory.get('/assets/main.js')!.body.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
