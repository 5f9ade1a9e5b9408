/**
 * `events tail`: what `nats sub` would print if it knew our schema. With integration credentials it
 * listens live (core NATS) to the subjects they may hear; with auditor credentials it reads the
 * stored stream by sequence (from --seq / --since, else from now on) and follows it. Each message is
 * one line: subject, stream sequence and time when known, meta, and the payload by name.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { NatsConnection } from '@nats-io/nats-core';
import { credsPermissions } from '../../proto/bus/connect.js';
import { decode, pb } from '../../proto/codec.js';
import { checkSubjectToken } from '../../proto/ids.js';
import { EventsApi, integrationEventNames } from '../../proto/subjects.js';
import { type RawEvent, readStream, streamState, subjectMatches } from '../runtime/read-stream.js';
import { cliDeps } from './env.js';

const usage = `usage: events tail [--creds F] [--subject S | --agent A --type ${integrationEventNames.join('|')}] [--since ISO | --seq N] [--limit N] [--json]`;

interface TailArgs {
  creds?: string;
  subject?: string;
  since?: Date;
  seq?: number;
  limit: number;
  json: boolean;
}

/** The subject pattern asked for, or an error line. */
function subjectOf(v: { subject?: string; agent?: string; type?: string }): string | undefined | Error {
  if (v.subject) {
    if (v.agent || v.type) return new Error('give either --subject or --agent/--type, not both');
    return v.subject.length > 0 && !/[\s\0]/.test(v.subject) ? v.subject : new Error('--subject is not a NATS subject');
  }
  if (!v.agent && !v.type) return undefined;
  const agent = v.agent ?? '*';
  if (agent !== '*') {
    const ok = checkSubjectToken(agent, 'agent id');
    if (!ok.ok) return new Error(`--agent: ${ok.error.message}`);
  }
  const type = v.type ?? '>';
  if (type === 'audit') return agent === '*' ? 'gc.audit.>' : new Error('audit events are not per machine: leave --agent out');
  if (type !== '>' && !(integrationEventNames as readonly string[]).includes(type)) return new Error(`unknown event type ${type}; use one of ${integrationEventNames.join(', ')}`);
  return `gc.agent.${agent}.${type}`;
}

function parse(argv: string[]): TailArgs | Error {
  let p: ReturnType<typeof run>;
  const run = () =>
    parseArgs({
      args: argv,
      options: {
        creds: { type: 'string' },
        subject: { type: 'string' },
        agent: { type: 'string' },
        type: { type: 'string' },
        since: { type: 'string' },
        seq: { type: 'string' },
        limit: { type: 'string' },
        json: { type: 'boolean' },
      },
    });
  try {
    p = run();
  } catch (e) {
    return e as Error;
  }
  const subject = subjectOf(p.values);
  if (subject instanceof Error) return subject;
  const since = p.values.since === undefined ? undefined : new Date(p.values.since);
  if (since && Number.isNaN(since.getTime())) return new Error(`--since is not a time: ${p.values.since} (use ISO 8601, e.g. 2026-01-31T12:00:00Z)`);
  const seq = p.values.seq === undefined ? undefined : Number(p.values.seq);
  if (seq !== undefined && !(Number.isSafeInteger(seq) && seq >= 1)) return new Error(`--seq must be a whole number >= 1, not ${p.values.seq}`);
  if (seq !== undefined && since) return new Error('give either --since or --seq, not both');
  const limit = p.values.limit === undefined ? 0 : Number(p.values.limit);
  if (!(Number.isSafeInteger(limit) && limit >= 0)) return new Error(`--limit must be a whole number >= 0, not ${p.values.limit}`);
  return { creds: p.values.creds, subject, since, seq, limit, json: p.values.json ?? false };
}

/** One message as a JSON-able object: payload by its field name, 64-bit numbers as numbers. */
export function describeEvent(subject: string, data: Uint8Array, at?: { seq: number; timeMs: number }): Record<string, unknown> {
  const d = decode(data, subject);
  const where = { subject, ...(at ? { seq: at.seq, time: new Date(at.timeMs).toISOString() } : {}) };
  if (!d.ok) return { ...where, error: { code: d.error.code, message: d.error.message } };
  const o = pb.Message.toObject(d.value, { longs: Number, enums: String, bytes: String, defaults: false }) as Record<string, unknown>;
  return { ...where, meta: o.meta, type: d.value.payload, payload: o[d.value.payload] };
}

function printer(a: TailArgs): (e: Record<string, unknown>) => void {
  return (e) => {
    if (a.json) return void process.stdout.write(`${JSON.stringify(e)}\n`);
    const head = [e.seq === undefined ? '' : String(e.seq).padStart(7), e.time ?? new Date().toISOString(), e.subject, e.type ?? 'UNDECODABLE'].filter((x) => x !== '').join('  ');
    process.stdout.write(`${head}  ${JSON.stringify(e.payload ?? e.error)}\n`);
  };
}

/** True when every subject `want` matches is one `allow` matches too. */
export function patternCovers(allow: string, want: string): boolean {
  const a = allow.split('.');
  const w = want.split('.');
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '>') return w.length > i;
    if (i >= w.length || w[i] === '>') return false;
    if (a[i] !== '*' && (w[i] === '*' || a[i] !== w[i])) return false;
  }
  return a.length === w.length;
}

/** Live: subscribe to the subjects (the credentials' whole scope unless one was asked for). */
async function tailLive(nc: NatsConnection, credsText: string, a: TailArgs, print: (e: Record<string, unknown>) => void): Promise<number> {
  const allowed = (credsPermissions(credsText)?.sub?.allow ?? []).filter((s) => !s.startsWith('_INBOX.'));
  const wanted = a.subject ? [a.subject] : allowed;
  const outside = wanted.filter((w) => !allowed.some((al) => patternCovers(al, w)));
  if (outside.length) {
    process.stderr.write(`${outside.join(', ')} is outside what these credentials may hear (${allowed.join(' ') || 'nothing'}); create an integration with that scope\n`);
    return 2;
  }
  let n = 0;
  let finished = false;
  let resolveDone: (code: number) => void = () => {};
  const done = new Promise<number>((r) => {
    resolveDone = r;
  }).finally(() => {
    finished = true;
  });
  for (const s of wanted) {
    nc.subscribe(s, {
      callback: (e, m) => {
        if (e) return resolveDone(2);
        print(describeEvent(m.subject, m.data));
        if (a.limit && ++n >= a.limit) resolveDone(0);
      },
    });
  }
  void nc.closed().then((e) => {
    if (finished) return;
    process.stderr.write(`the server closed the connection${e ? `: ${e.message}` : ''} (credentials revoked?)\n`);
    resolveDone(1);
  });
  process.on('SIGINT', () => resolveDone(0));
  return done;
}

/** First sequence stored at or after `since` (binary search on the stream's own timestamps). */
async function seqAt(nc: NatsConnection, since: Date, first: number, last: number): Promise<number> {
  let lo = first;
  let hi = last + 1;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    let t = Number.POSITIVE_INFINITY;
    await readStream(nc, { fromSeq: mid, toSeq: mid, api: EventsApi.reader }, (b) => {
      t = b[0]?.timeMs ?? t;
    });
    if (t < since.getTime()) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Stored: read from the start point, then follow the stream's end. */
async function tailStream(nc: NatsConnection, a: TailArgs, print: (e: Record<string, unknown>) => void): Promise<number> {
  const st = await streamState(nc, EventsApi.reader);
  if (!st.ok) {
    process.stderr.write(`${st.error.message}\n`);
    return 1;
  }
  let next = a.seq ?? (a.since ? await seqAt(nc, a.since, st.value.firstSeq, st.value.lastSeq) : st.value.lastSeq + 1);
  let n = 0;
  let stop = false;
  process.on('SIGINT', () => {
    stop = true;
  });
  while (!stop) {
    const now = await streamState(nc, EventsApi.reader);
    if (!now.ok) {
      process.stderr.write(`${now.error.message}\n`);
      return 1;
    }
    if (now.value.lastSeq >= next) {
      await readStream(nc, { fromSeq: next, toSeq: now.value.lastSeq, api: EventsApi.reader, batch: 500 }, (b: RawEvent[]) => {
        for (const e of b) {
          if (stop || (a.subject && !subjectMatches(a.subject, e.subject))) continue;
          print(describeEvent(e.subject, e.data, e));
          if (a.limit && ++n >= a.limit) stop = true;
        }
      });
      next = now.value.lastSeq + 1;
    } else {
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  return 0;
}

/** CLI entry; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const a = parse(argv);
  if (a instanceof Error) {
    process.stderr.write(`${a.message}\n${usage}\n`);
    return 2;
  }
  const env = a.creds ? { ...process.env, NATS_CREDS: a.creds } : process.env;
  const deps = await cliDeps('gc-events-tail', false, env);
  if (typeof deps === 'string') {
    process.stderr.write(`${deps}\n`);
    return 2;
  }
  try {
    const print = printer(a);
    if (deps.eventsApi === EventsApi.reader) return await tailStream(deps.nc, a, print);
    if (a.since || a.seq) {
      process.stderr.write("--since and --seq read the stored stream, which needs the auditor's credentials; integration credentials hear events live only\n");
      return 2;
    }
    if (!env.NATS_CREDS) {
      process.stderr.write("events tail needs credentials: --creds FILE (an integration's or the auditor's)\n");
      return 2;
    }
    return await tailLive(deps.nc, readFileSync(env.NATS_CREDS, 'utf8'), a, print);
  } finally {
    await deps.close();
  }
}
