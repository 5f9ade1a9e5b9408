/**
 * After a test has thrown hostile input at the gateway: an ordinary audited action (an admin
 * creating a user) is still published on its audit subject. Hostile input must never silence the log.
 */
import assert from 'node:assert/strict';
import { decode } from '../../proto/codec.js';
import { subjects } from '../../proto/subjects.js';
import type { TestGateway } from './gateway.js';

export async function assertStillAudits(t: TestGateway, adminToken: string, userName: string): Promise<void> {
  const subject = subjects.audit('user_created');
  const heard = new Promise<string>((resolve) => {
    const sub = t.backbone.nc.subscribe(subject, {
      callback: (_e, m) => {
        const d = decode(m.data, m.subject);
        if (d.ok && d.value.audit?.detailsJson?.includes(userName)) {
          sub.unsubscribe();
          resolve(m.subject);
        }
      },
    });
  });
  await t.backbone.nc.flush();
  const created = await fetch(`${t.url}/api/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: userName, role: 'operator', password: 'correct horse battery staple' }),
  });
  assert.equal(created.status, 201, await created.text());
  assert.equal(await heard, subject);
}
