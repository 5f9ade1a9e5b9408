/**
 * The audit page warns when the read side quarantined an event (issue 13), in real Chromium against
 * the whole stack: an audit event the database refuses is published as the gateway would, the audit
 * projection quarantines it, /api/health says so, and the page shows the banner naming it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jetstream } from '@nats-io/jetstream';
import { connectBus } from '../../proto/bus/connect.js';
import type { Stack } from '../../infra/launcher/stack.js';
import { encode, message } from '../../proto/codec.js';
import { subjects } from '../../proto/subjects.js';
import { eventually } from '../support/api.js';
import { collectPageErrors, newPage, screenshot, signIn } from '../support/browser.js';
import { type E2eStack, startE2eStack } from '../support/e2e-stack.js';

interface Health {
  read_side: { attention: boolean; projections: Array<{ name: string; quarantined: number }> } | null;
}

describe('dashboard: audit page banner for quarantined events', { timeout: 180_000 }, () => {
  let e2e: E2eStack | undefined;
  let stack: Stack;

  before(async () => {
    e2e = await startE2eStack();
    ({ stack } = e2e);
  });
  after(async () => {
    await e2e?.stop();
  });

  it('shows no banner while all is well, and the quarantined event once the audit projection quarantined it', async () => {
    const { page } = await newPage(e2e!.browser);
    const errors = collectPageErrors(page);
    await signIn(page, stack.url, stack.admin, '/audit');
    await page.locator('[data-testid=audit-table] tbody tr').first().waitFor();
    assert.equal(await page.locator('[data-testid=read-side-warning]').isVisible(), false, 'nothing quarantined yet');

    const nc = await connectBus({ servers: stack.natsUrl, name: 'e2e-gateway-like', credsFile: await stack.credsFor('gateway'), caFile: stack.natsCa });
    // events.event_type is varchar(50): Postgres refuses this one on every try.
    const seq = (await jetstream(nc).publish(subjects.audit('login'), encode(message({ audit: { eventType: 'q'.repeat(80), detailsJson: '{}' } })))).seq;
    await nc.close();
    await eventually(
      async () => {
        const h = (await (await fetch(`${stack.url}/api/health`)).json()) as Health;
        return h.read_side?.projections.find((p) => p.name === 'audit' && p.quarantined === 1);
      },
      'the audit projection to quarantine the event',
      60_000,
    );

    await page.reload();
    const banner = page.locator('[data-testid=read-side-warning]');
    await banner.waitFor({ state: 'visible', timeout: 15_000 });
    const text = (await banner.textContent()) ?? '';
    assert.match(text, /audit: 1 quarantined/);
    assert.match(text, new RegExp(`audit seq ${seq} gc\\.audit\\.login 22001`));
    await screenshot(page, 'audit-read-side-banner');
    assert.deepEqual(errors, []);
  });
});
