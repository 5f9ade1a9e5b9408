/**
 * The gateway built with buildApp over a real PostgreSQL and a fake bus (no NATS, no port): every
 * route's authentication (401), authorization (403, audited), validation (400) and error envelope,
 * through app.inject(); and the switch use case over REST with its checks and audit codes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Kysely } from 'kysely';
import { type Decoded, decode, encode, message } from '../../proto/codec.js';
import { ErrorCode, errorEnvelopeSchema, ok } from '../../proto/errors.js';
import type { AgentId } from '../../proto/ids.js';
import { subjects } from '../../proto/subjects.js';
import { openDb } from '../../infra/db/connect.js';
import { migrateToLatest } from '../../infra/db/migrate.js';
import type { Database } from '../../infra/db/schema.js';
import { createLogger } from '../../proto/log/logger.js';
import type { Role } from '../../services/auth/roles.js';
import { createUser, grantMachine } from '../../services/auth/users.js';
import { withAuth } from '../../services/gateway/access-auth.js';
import { type Gateway, buildApp } from '../../services/gateway/app.js';
import type { AgentEvents } from '../../services/gateway/bus/agent-events.js';
import type { AuditInput } from '../../services/gateway/bus/audit-publisher.js';
import type { CommandClient } from '../../services/gateway/bus/command-client.js';
import type { GatewayBus } from '../../services/gateway/bus/gateway-bus.js';
import { gatewayConfigSchema } from '../../services/gateway/config.js';
import { type TestPostgres, startTestPostgres } from '../support/servers.js';

const PASSWORD = 'correct horse battery';
const PC = 'pc-inject' as AgentId;
const OTHER = 'pc-elsewhere' as AgentId;

/** A fake bus: audits are collected, commands answered by `answer` and recorded. */
function fakeBus() {
  const audits: AuditInput[] = [];
  const issued: { agentId: string; kind: string; payload: unknown }[] = [];
  const answer = (commandId: string, to: number): Decoded => {
    const r = decode(
      encode(message({ sessionSwitched: { ok: true, fromSessionId: 1, toSessionId: to, durationMs: 12 } }, { agentId: PC, correlationId: commandId })),
      subjects.agentEvent(PC, 'switched'),
    );
    assert.ok(r.ok);
    return r.value;
  };
  const commands: CommandClient = {
    async issue(agentId, kind, payload, opts) {
      issued.push({ agentId, kind, payload });
      // Asked for timing (GC_SERVER_TIMING): stamps in the order the hops happen.
      if (opts.timing) {
        const t = performance.timeOrigin + performance.now();
        Object.assign(opts.timing, { publishMs: t, ackMs: t + 1, answer: { heardMs: t + 5, agent: { receivedMs: t + 2, startedMs: t + 3, answeredMs: t + 4 } } });
      }
      const to = (payload as { switchSession?: { targetSessionId?: number } }).switchSession?.targetSessionId ?? 0;
      return ok({ commandId: 'cmd-1', answer: answer('cmd-1', to) });
    },
    send() {},
  };
  const events: AgentEvents = {
    onCorrelation: () => () => {},
    onAgent: () => () => {},
    lastStatus: () => undefined,
    timingOf: () => undefined,
    lastSessions: () => undefined,
    hearing: () => ({ connected: true, sinceMs: 0 }),
    onReconnect: () => () => {},
    rejected: 0,
    close() {},
  };
  const bus: GatewayBus = {
    // Never touched by inject: only viewer sockets use the connection (frames, terminal).
    nc: {} as NatsConnection,
    events,
    projectionLag: async () => null,
    audit: Object.assign(async (ev: AuditInput) => void audits.push(ev), { flush: async () => {} }),
    commands,
    connected: () => true,
    close: async () => {},
  };
  return { bus, audits, issued };
}

describe('gateway over app.inject (real Postgres, no NATS)', { timeout: 120_000 }, () => {
  let pg: TestPostgres;
  let db: Kysely<Database>;
  let gw: Gateway;
  let fake: ReturnType<typeof fakeBus>;
  let config: ReturnType<typeof gatewayConfigSchema.parse>;
  const tokens: Partial<Record<Role, string>> = {};
  const ids: Partial<Record<Role, string>> = {};
  const logLines: Record<string, unknown>[] = [];

  before(async () => {
    pg = await startTestPostgres();
    db = openDb({ url: pg.url, max: 4, applicationName: 'gc-inject-test' });
    await migrateToLatest(db);
    fake = fakeBus();
    config = gatewayConfigSchema.parse({ natsUrl: 'nats://unused.invalid:4222', databaseUrl: pg.url, port: 0 });
    gw = await buildApp({
      config,
      db,
      bus: fake.bus,
      notifications: { on: () => () => {}, close: async () => {} },
      auth: withAuth({ cookieSecure: false }),
      dashboard: false,
      logger: createLogger({ name: 'gateway', level: 'info', destination: { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) } }),
    });
    for (const role of ['admin', 'operator', 'viewer', 'auditor'] as const) {
      const u = await createUser(db, { name: `inj-${role}`, role, password: PASSWORD });
      assert.ok(u.ok);
      ids[role] = u.value.id;
      const r = await gw.app.inject({ method: 'POST', url: '/api/auth/login', payload: { name: `inj-${role}`, password: PASSWORD } });
      assert.equal(r.statusCode, 200, r.body);
      tokens[role] = r.json<{ token: string }>().token;
    }
    // The operator and the viewer reach PC only; the admin reaches every machine by role.
    for (const role of ['operator', 'viewer'] as const) assert.ok((await grantMachine(db, ids[role]!, PC)).ok);
    const now = new Date();
    for (const agent_id of [PC, OTHER]) {
      await db
        .insertInto('machines')
        .values({
          agent_id,
          hostname: agent_id,
          os_version: 'test',
          platform: 'linux',
          agent_version: '1',
          elevated: true,
          current_session_id: 1,
          session_count: 3,
          users: ['ann'],
          heartbeat_interval_ms: 3_600_000,
          state: 'online',
          first_seen: now,
          last_seen: now,
          last_seq: 1,
        })
        .execute();
    }
    const session = (session_id: number, capturable: boolean) => ({
      agent_id: PC,
      session_id,
      user_name: `u${session_id}`,
      domain: '',
      state: 'active',
      type: 'console',
      station_name: 'x',
      client_name: '',
      client_address: '',
      logon_time: null,
      idle_secs: 0,
      locked: false,
      capturable,
      updated_at: now,
    });
    await db
      .insertInto('windows_sessions')
      .values([session(1, true), session(2, true), session(3, false)])
      .execute();
  });
  after(async () => {
    await gw?.app.close();
    await db?.destroy();
    await pg?.stop();
  });

  const call = (method: 'GET' | 'POST', url: string, role?: Role, payload?: unknown) =>
    gw.app.inject({ method, url, ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}), headers: role ? { authorization: `Bearer ${tokens[role]}` } : {} });
  /** The reply is the envelope, its correlation id is the one in the header, and the code is `code`. */
  const envelopeOf = (r: Awaited<ReturnType<typeof call>>, status: number, code: ErrorCode) => {
    assert.equal(r.statusCode, status, `${r.statusCode} ${r.body}`);
    const e = errorEnvelopeSchema.strict().parse(r.json());
    assert.equal(e.error_code, code, r.body);
    assert.equal(e.correlation_id, r.headers['x-correlation-id']);
    assert.ok(e.message.length > 0);
    return e;
  };

  // Every API route, with the roles the policy table lets through (services/auth/policy.ts).
  const routes: { method: 'GET' | 'POST'; url: string; body?: unknown; allowed: Role[] }[] = [
    { method: 'GET', url: '/api/machines', allowed: ['admin', 'operator', 'viewer', 'auditor'] },
    { method: 'GET', url: `/api/machines/${PC}`, allowed: ['admin', 'operator', 'viewer'] },
    { method: 'GET', url: `/api/machines/${PC}/windows-sessions`, allowed: ['admin', 'operator', 'viewer'] },
    { method: 'POST', url: `/api/machines/${PC}/switch-session`, body: { session_id: 2 }, allowed: ['admin', 'operator'] },
    { method: 'POST', url: `/api/machines/${PC}/backstage/exec`, body: { command: 'whoami' }, allowed: ['admin'] },
    { method: 'GET', url: `/api/machines/${PC}/backstage/services`, allowed: ['admin'] },
    { method: 'GET', url: `/api/machines/${PC}/backstage/processes`, allowed: ['admin'] },
    { method: 'GET', url: `/api/machines/${PC}/backstage/system-info`, allowed: ['admin'] },
    { method: 'GET', url: '/api/audit', allowed: ['admin', 'auditor'] },
    { method: 'GET', url: '/api/audit/export', allowed: ['admin', 'auditor'] },
  ];

  it('every route answers 401 with the envelope to a caller without a token, or with a token nobody issued', async () => {
    for (const r of routes) {
      envelopeOf(await call(r.method, r.url, undefined, r.body), 401, ErrorCode.UNAUTHENTICATED);
      const forged = await gw.app.inject({ method: r.method, url: r.url, headers: { authorization: 'Bearer not-a-token-\u0000' }, ...(r.body ? { payload: r.body as Record<string, unknown> } : {}) });
      envelopeOf(forged, 401, ErrorCode.UNAUTHENTICATED);
    }
    assert.deepEqual(fake.issued, [], 'no command left for an anonymous caller');
  });

  it('every route answers 403 with the envelope to each role the policy refuses, and audits the denial', async () => {
    for (const r of routes) {
      for (const role of (['admin', 'operator', 'viewer', 'auditor'] as const).filter((x) => !r.allowed.includes(x))) {
        const before = fake.audits.length;
        envelopeOf(await call(r.method, r.url, role, r.body), 403, ErrorCode.FORBIDDEN);
        const denial = fake.audits.slice(before).find((a) => a.eventType === 'access_denied');
        assert.ok(denial, `${role} ${r.method} ${r.url}: denial audited`);
        assert.equal(denial.actor?.userName, `inj-${role}`);
      }
    }
    assert.deepEqual(fake.issued, [], 'no command left for a refused role');
  });

  it('every allowed role gets past the guard', async () => {
    for (const r of routes.filter((x) => x.method === 'GET' && !x.url.includes('backstage'))) {
      for (const role of r.allowed) {
        const res = await call(r.method, r.url, role);
        assert.equal(res.statusCode, 200, `${role} ${r.url}: ${res.body}`);
      }
    }
  });

  it('answers 400 VALIDATION_FAILED with the envelope to hostile input on every route that takes some', async () => {
    const bad: [string, 'GET' | 'POST', string, unknown?][] = [
      ['agent id with a space', 'GET', '/api/machines/a%20b'],
      ['agent id with a lone surrogate', 'GET', '/api/machines/x%ED%A0%80'],
      ['agent id with NUL', 'GET', '/api/machines/x%00y/windows-sessions'],
      ['session id -1', 'POST', `/api/machines/${PC}/switch-session`, { session_id: -1 }],
      ['session id 2^32', 'POST', `/api/machines/${PC}/switch-session`, { session_id: 2 ** 32 }],
      ['session id 2^63-1', 'POST', `/api/machines/${PC}/switch-session`, { session_id: 2 ** 63 - 1 }],
      ['session id as text', 'POST', `/api/machines/${PC}/switch-session`, { session_id: '2' }],
      ['no session id', 'POST', `/api/machines/${PC}/switch-session`, {}],
      ['viewer id of 100k characters', 'POST', `/api/machines/${PC}/switch-session`, { session_id: 2, viewer_id: 'v'.repeat(100_000) }],
      ['empty command', 'POST', `/api/machines/${PC}/backstage/exec`, { command: '' }],
      ['timeout 0', 'POST', `/api/machines/${PC}/backstage/exec`, { command: 'x', timeout_secs: 0 }],
      ['timeout 2^31-1', 'POST', `/api/machines/${PC}/backstage/exec`, { command: 'x', timeout_secs: 2 ** 31 - 1 }],
      ['cpu sample -1', 'GET', `/api/machines/${PC}/backstage/processes?cpu_sample_ms=-1`],
      ['cpu sample 5001', 'GET', `/api/machines/${PC}/backstage/processes?cpu_sample_ms=5001`],
      ['cpu sample 1.5', 'GET', `/api/machines/${PC}/backstage/processes?cpu_sample_ms=1.5`],
      ['audit limit 0', 'GET', '/api/audit?limit=0'],
      ['audit limit 2^32-1', 'GET', '/api/audit?limit=4294967295'],
    ];
    for (const [what, method, url, body] of bad) {
      const r = await call(method, url, 'admin', body);
      assert.equal(r.statusCode === 400 || r.statusCode === 413, true, `${what}: ${r.statusCode} ${r.body.slice(0, 200)}`);
      envelopeOf(r, r.statusCode, r.statusCode === 413 ? ErrorCode.PAYLOAD_TOO_LARGE : ErrorCode.VALIDATION_FAILED);
    }
    // A text/plain body is refused, not handed to a schema as a string.
    const text = await gw.app.inject({
      method: 'POST',
      url: `/api/machines/${PC}/switch-session`,
      payload: '{"session_id":2}',
      headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'text/plain' },
    });
    envelopeOf(text, 415, ErrorCode.VALIDATION_FAILED);
    envelopeOf(await call('GET', '/api/nothing-here', 'admin'), 404, ErrorCode.NOT_FOUND);
    assert.deepEqual(fake.issued, [], 'no command left for invalid input');
  });

  it('logs every line of a request with its correlation id, the one the caller got in x-correlation-id', async () => {
    const r = await call('GET', '/api/machines', 'admin');
    const id = r.headers['x-correlation-id'];
    assert.ok(typeof id === 'string' && id.length > 0);
    const lines = logLines.filter((l) => l.correlation_id === id);
    assert.deepEqual(
      lines.map((l) => l.msg),
      ['incoming request', 'request completed'],
    );
    assert.ok(lines.every((l) => l.process === 'gateway'));
  });

  it('GC_SERVER_TIMING=1: command answers carry Server-Timing with every hop (REST header, viewer socket server_timing); by default none', async () => {
    const url = `/api/machines/${PC}/switch-session`;
    const plain = await call('POST', url, 'operator', { session_id: 2 });
    assert.equal(plain.statusCode, 200, plain.body);
    assert.equal(plain.headers['server-timing'], undefined);
    assert.equal(config.serverTiming, false);
    const timed = await buildApp({
      config: gatewayConfigSchema.parse({ natsUrl: 'nats://unused.invalid:4222', databaseUrl: pg.url, port: 0, serverTiming: '1' }),
      db,
      // The viewer socket subscribes to the target's frames before a switch leaves: a subscription that never delivers.
      bus: { ...fake.bus, nc: { subscribe: () => ({ unsubscribe() {} }) } as unknown as NatsConnection },
      notifications: { on: () => () => {}, close: async () => {} },
      auth: withAuth({ cookieSecure: false }),
      dashboard: false,
    });
    try {
      for (const [method, path, body] of [
        ['POST', url, { session_id: 2 }],
        ['POST', `/api/machines/${PC}/backstage/exec`, { command: 'whoami' }],
      ] as const) {
        const r = await timed.app.inject({ method, url: path, payload: body, headers: { authorization: `Bearer ${tokens.admin}` } });
        const header = String(r.headers['server-timing'] ?? '');
        const metrics = Object.fromEntries(header.split(', ').map((m) => [m.split(';')[0], Number(m.split('dur=')[1])]));
        assert.deepEqual(Object.keys(metrics), ['auth', 'checks', 'ack', 'deliver', 'guard', 'handler', 'answer', 'reply', 'ackwait', 'gateway', 'start', 'end'], `${path}: ${header}`);
        // The window's ends on the wall clock: the gateway's duration between them, and near now.
        assert.ok(Math.abs((metrics.end ?? 0) - (metrics.start ?? 0) - (metrics.gateway ?? -1)) < 0.01, header);
        assert.ok((metrics.start ?? 0) > Date.now() - 60_000 && (metrics.end ?? 0) <= Date.now() + 1, header);
        assert.deepEqual([metrics.ack, metrics.deliver, metrics.guard, metrics.handler, metrics.answer, metrics.ackwait], [1, 2, 1, 1, 1, -4], header);
        assert.ok(
          Object.values(metrics).every((v) => Number.isFinite(v)),
          header,
        );
      }
      // The viewer socket's switch carries the same hops in its `switched` reply (server_timing).
      const replies: { t: string; server_timing?: string }[] = [];
      let got: () => void = () => {};
      const switched = new Promise<void>((resolve) => {
        got = resolve;
      });
      const ws = await timed.app.injectWS(
        `/ws/viewer/${PC}`,
        { headers: { authorization: `Bearer ${tokens.admin}` } },
        {
          onInit: (w) =>
            w.on('message', (d: unknown) => {
              const m = JSON.parse(String(d)) as { t: string; server_timing?: string };
              replies.push(m);
              if (m.t === 'switched' || m.t === 'error') got();
            }),
        },
      );
      ws.send(JSON.stringify({ t: 'switch', session_id: 2, req: 'r-1' }));
      await switched;
      ws.terminate();
      const reply = replies.at(-1);
      assert.equal(reply?.t, 'switched', JSON.stringify(replies));
      const metrics = Object.fromEntries(
        String(reply?.server_timing)
          .split(', ')
          .map((m) => [m.split(';')[0], Number(m.split('dur=')[1])]),
      );
      assert.deepEqual(Object.keys(metrics), ['auth', 'checks', 'ack', 'deliver', 'guard', 'handler', 'answer', 'reply', 'ackwait', 'gateway', 'start', 'end'], reply?.server_timing);
      assert.deepEqual([metrics.ack, metrics.deliver, metrics.guard, metrics.handler, metrics.answer, metrics.ackwait], [1, 2, 1, 1, 1, -4], reply?.server_timing);
      assert.ok(Math.abs((metrics.end ?? 0) - (metrics.start ?? 0) - (metrics.gateway ?? -1)) < 0.01, reply?.server_timing);
    } finally {
      await timed.app.close();
    }
  });

  describe('switch-session over REST (the switch use case)', () => {
    const switchTo = (session_id: number, role: Role = 'operator', agent = PC) => call('POST', `/api/machines/${agent}/switch-session`, role, { session_id });
    const lastFailure = () => fake.audits.filter((a) => a.eventType === 'session_switch_failed').at(-1);

    it("switches a listed, capturable session and answers with the agent's outcome", async () => {
      const before = fake.issued.length;
      const r = await switchTo(2);
      assert.equal(r.statusCode, 200, r.body);
      assert.deepEqual(r.json(), { ok: true, command_id: 'cmd-1', from_session_id: 1, to_session_id: 2, duration_ms: 12 });
      assert.deepEqual(
        fake.issued.slice(before).map((c) => [c.agentId, c.kind]),
        [[PC, 'switchSession']],
      );
    });

    it('refuses a session that is not listed with SESSION_NOT_FOUND, audited with that code, and issues nothing', async () => {
      const before = fake.issued.length;
      envelopeOf(await switchTo(0xffffffff), 404, ErrorCode.SESSION_NOT_FOUND);
      assert.equal(lastFailure()?.details?.error_code, ErrorCode.SESSION_NOT_FOUND);
      assert.equal(lastFailure()?.details?.to_session, 0xffffffff);
      assert.equal(fake.issued.length, before);
    });

    it('refuses a listed session without a desktop with SESSION_NOT_CAPTURABLE, audited as SESSION_NOT_CAPTURABLE (not SESSION_NOT_FOUND)', async () => {
      const before = fake.issued.length;
      envelopeOf(await switchTo(3), 409, ErrorCode.SESSION_NOT_CAPTURABLE);
      assert.equal(lastFailure()?.details?.error_code, ErrorCode.SESSION_NOT_CAPTURABLE);
      assert.equal(fake.issued.length, before);
    });

    it('answers MACHINE_NOT_FOUND for a machine the operator holds no grant for, and issues nothing', async () => {
      const before = fake.issued.length;
      envelopeOf(await switchTo(1, 'operator', OTHER), 404, ErrorCode.MACHINE_NOT_FOUND);
      assert.equal(fake.issued.length, before);
    });

    it('refuses an offline machine with AGENT_OFFLINE, audited', async () => {
      await db
        .updateTable('machines')
        .set({ last_seen: new Date(Date.now() - 86_400_000), heartbeat_interval_ms: 1000 })
        .where('agent_id', '=', OTHER)
        .execute();
      const before = fake.issued.length;
      envelopeOf(await switchTo(1, 'admin', OTHER), 503, ErrorCode.AGENT_OFFLINE);
      assert.equal(lastFailure()?.details?.error_code, ErrorCode.AGENT_OFFLINE);
      assert.equal(fake.issued.length, before);
    });
  });
});
