/**
 * The per-hop breakdown of stored commands for the commands bench: each run's Server-Timing
 * (GC_SERVER_TIMING=1 on the gateway), the client's own round trip, and the answer's time of
 * storage in the event stream (the server's clock) against the agent's stamp of publishing it.
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import { Headers } from '../../proto/codec.js';
import { parseAgentTiming } from '../../proto/timing.js';
import { latency, p50 } from './stats.js';
import type { BenchRow } from './types.js';

/** One command's timings as a client saw them: its round trip, the gateway's hops and the client's own share. */
export interface HopSample {
  clientMs: number;
  /** The gateway's Server-Timing metrics (ms): the header of a REST reply, `server_timing` of a viewer socket's `switched`. */
  server: Record<string, number>;
  /**
   * The client's own share of the round trip (writing the request; reading the reply once its first
   * bytes are in), so the rest of the transport is the loopback and the gateway process outside the
   * gateway's window.
   */
  clientSideMs: number;
  /** Wall clock (ms) when the client had written the request and when the reply's first part was in. */
  requestSentMs: number;
  responseHeadersMs: number;
}

/** One timed API call: the status and body beside its timings (the client's share from its Resource Timing entry). */
export interface TimedCall extends HopSample {
  status: number;
  body: unknown;
}

/** Parses "name;dur=1.234, other;dur=0.5" (metrics without a duration are skipped). */
export function parseServerTiming(v: string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of (v ?? '').split(',')) {
    const m = /^\s*([\w-]+);dur=(-?\d+(?:\.\d+)?)\s*$/.exec(part);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** An authenticated JSON call that keeps the response headers. */
export async function timedCall(baseUrl: string, token: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<TimedCall> {
  const t = performance.now();
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const clientMs = performance.now() - t;
  return { status: res.status, body: text ? JSON.parse(text) : undefined, clientMs, server: parseServerTiming(res.headers.get('server-timing')), ...(await clientSide(res.url, t, clientMs)) };
}

/** The client's share of a fetch that started at `t` and took `clientMs`, from its Resource Timing entry (NaN without one). */
async function clientSide(url: string, t: number, clientMs: number): Promise<{ clientSideMs: number; requestSentMs: number; responseHeadersMs: number }> {
  // undici adds the entry when the body is done, in a later tick than the one that resolved text().
  await new Promise((r) => setImmediate(r));
  const e = performance.getEntriesByName(url, 'resource').at(-1) as PerformanceResourceTiming | undefined;
  performance.clearResourceTimings();
  if (!e || e.startTime < t) return { clientSideMs: Number.NaN, requestSentMs: Number.NaN, responseHeadersMs: Number.NaN };
  return {
    clientSideMs: e.requestStart - t + (clientMs - (e.responseStart - t)),
    requestSentMs: performance.timeOrigin + e.requestStart,
    responseHeadersMs: performance.timeOrigin + e.responseStart,
  };
}

/** RFC 3339 with nanoseconds (the stream's message time) to wall-clock ms with the sub-ms digits kept. */
export function rfc3339Ms(ts: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(ts);
  if (!m) return Number.NaN;
  return Date.parse(`${m[1]}${m[3]}`) + Number(`0.${m[2] ?? '0'}`) * 1000;
}

/** How long the stream took to store the latest answer on `subject` after the agent published it (ms). */
export async function answerStoredAfterMs(jsm: JetStreamManager, stream: string, subject: string): Promise<number> {
  const sm = await jsm.streams.getMessage(stream, { last_by_subj: subject });
  const t = parseAgentTiming(sm?.header.get(Headers.timing));
  if (!sm || !t) throw new Error(`the latest answer on ${subject} carries no Gc-Timing`);
  return rfc3339Ms(sm.timestamp) - t.answeredMs;
}

/** The door a command came in by: the hops outside the gateway's window are named for it. */
export type Transport = 'HTTP' | 'WebSocket';

/** The hops, in order, as rows: metric name in Server-Timing (or a derived one) and what it covers. */
const HOPS: [key: string, label: string | Record<Transport, string>][] = [
  [
    'transport',
    {
      HTTP: 'HTTP transport both ways (client round trip − time inside the gateway)',
      WebSocket: 'WebSocket transport both ways (client round trip − time inside the gateway)',
    },
  ],
  [
    'transport-client',
    {
      HTTP: '  of the transport: the client (fetch until the request is written; response headers until the body is read)',
      WebSocket: '  of the transport: the client (send() until it returns; message event until the JSON is parsed)',
    },
  ],
  [
    'transport-server',
    {
      HTTP: '  of the transport: loopback and the gateway process outside fastify (socket read, HTTP parse, event-loop wait, response write)',
      WebSocket: '  of the transport: loopback and the gateway process outside its message handler (frame read, event-loop wait, frame write)',
    },
  ],
  [
    'transport-in',
    {
      HTTP: '    of which the way in (request written by the client → fastify starts on it: loopback, event-loop wait, HTTP parse, routing)',
      WebSocket: "    of which the way in (message written by the client → the gateway's message handler starts: loopback, event-loop wait, frame parse)",
    },
  ],
  [
    'transport-out',
    {
      HTTP: '    of which the way out (gateway done → response headers parsed by the client: write, loopback, client event-loop wait)',
      WebSocket: "    of which the way out (gateway done → the client's message event: reply JSON, write, loopback, client event-loop wait)",
    },
  ],
  [
    'auth',
    {
      HTTP: 'HTTP + auth (gateway: request start → route handler: token, validation, role)',
      WebSocket: 'message checks (gateway: message received → switch effect: JSON, input guard, schema, decide; the token was checked at the upgrade)',
    },
  ],
  ['checks', { HTTP: 'route checks (read model, presence) → publish', WebSocket: 'switch checks (grant, presence, session list) → publish' }],
  ['ack', 'publish-ack (gateway publish → stream ack)'],
  ['deliver', 'agent receipt (gateway publish → agent callback)'],
  ['guard', 'agent guard (freshness, seen id on disk) → handler start'],
  ['handler', 'handler (agent: start → answer published)'],
  ['stored', 'answer publish-ack (agent publish → stored by the stream, server clock)'],
  ['answer', 'gateway receipt (agent publish → gateway hears the answer)'],
  [
    'reply',
    {
      HTTP: 'HTTP reply (gateway hears the answer → response sent)',
      WebSocket: 'socket reply (gateway hears the answer → reply built: frames held for the switch, decide)',
    },
  ],
  ['ackwait', 'publish-ack still awaited after the answer arrived (negative: it came first)'],
];

/** Collects the hops of many runs of one command and turns them into bench rows. */
export function hopRecorder(what: string, transport: Transport = 'HTTP') {
  const hops = HOPS.map(([k, label]) => [k, typeof label === 'string' ? label : label[transport]] as const);
  const samples = new Map<string, number[]>(hops.map(([k]) => [k, []]));
  const totals: number[] = [];
  return {
    add(call: HopSample, storedAfterMs: number) {
      const s = call.server;
      const want = ['auth', 'checks', 'ack', 'deliver', 'guard', 'handler', 'answer', 'reply', 'ackwait', 'gateway', 'start', 'end'];
      const missing = want.filter((k) => s[k] === undefined);
      if (missing.length) throw new Error(`${what}: Server-Timing lacks ${missing.join(', ')} (is GC_SERVER_TIMING=1 set?)`);
      if (Number.isNaN(call.clientSideMs)) throw new Error(`${what}: the call left no client-side timing (Resource Timing entry)`);
      totals.push(call.clientMs);
      samples.get('transport')!.push(call.clientMs - s.gateway!);
      samples.get('transport-client')!.push(call.clientSideMs);
      samples.get('transport-server')!.push(call.clientMs - s.gateway! - call.clientSideMs);
      samples.get('transport-in')!.push(s.start! - call.requestSentMs);
      samples.get('transport-out')!.push(call.responseHeadersMs - s.end!);
      samples.get('stored')!.push(storedAfterMs);
      for (const k of want) samples.get(k)?.push(s[k]!);
    },
    /**
     * "label a.aa ms, …": the `n` hops on the round trip's path with the largest p50, for the note of
     * a missed goal. The publish-acks run beside the delivery and the answer: while the command's ack
     * comes before the answer at p50 (ackwait < 0), neither ack is on the path.
     */
    largest(n: number): string {
      const offPath = new Set(['ackwait', ...(p50(samples.get('ackwait')!) < 0 ? ['ack', 'stored'] : [])]);
      return hops
        .filter(([k]) => !offPath.has(k) && !k.startsWith('transport-'))
        .map(([k, label]) => [label.replace(/ \(.*$/, ''), p50(samples.get(k)!)] as const)
        .sort((a, b) => b[1] - a[1])
        .slice(0, n)
        .map(([label, v]) => `${label} ${v.toFixed(2)} ms`)
        .join(', ');
    },
    /** The samples of one hop (for rows that set a hop beside a baseline of its own). */
    hop: (key: string): number[] => samples.get(key) ?? [],
    rows(): BenchRow[] {
      const total = p50(totals);
      return hops.map(([k, label]) => {
        const v = samples.get(k)!;
        return {
          figure: `${what} hop: ${label}`,
          value: latency(v),
          baseline: `${what} round trip, same runs (client)`,
          baselineValue: latency(totals),
          note: `${((p50(v) / total) * 100).toFixed(0)}% of the round trip at p50`,
          measured: { value: round(p50(v)), unit: 'ms p50', baselineValue: round(total) },
        };
      });
    },
  };
}

const round = (n: number) => Math.round(n * 1000) / 1000;
