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

/** One timed API call: the client's round trip and the gateway's Server-Timing metrics (ms). */
export interface TimedCall {
  status: number;
  body: unknown;
  clientMs: number;
  server: Record<string, number>;
  /**
   * From the client's Resource Timing entry of the call: the client's own share of the round trip
   * (fetch until the request is written, the response's headers until its body is read), so the rest
   * of the transport is the loopback and the gateway process outside fastify's window.
   */
  clientSideMs: number;
  /** Wall clock (ms) when the client had written the request and when it had the response's headers. */
  requestSentMs: number;
  responseHeadersMs: number;
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

/** The hops, in order, as rows: metric name in Server-Timing (or a derived one) and what it covers. */
const HOPS: [key: string, label: string][] = [
  ['transport', 'HTTP transport both ways (client round trip − time inside the gateway)'],
  ['transport-client', '  of the transport: the client (fetch until the request is written; response headers until the body is read)'],
  ['transport-server', '  of the transport: loopback and the gateway process outside fastify (socket read, HTTP parse, event-loop wait, response write)'],
  ['transport-in', '    of which the way in (request written by the client → fastify starts on it: loopback, event-loop wait, HTTP parse, routing)'],
  ['transport-out', '    of which the way out (gateway done → response headers parsed by the client: write, loopback, client event-loop wait)'],
  ['auth', 'HTTP + auth (gateway: request start → route handler: token, validation, role)'],
  ['checks', 'route checks (read model, presence) → publish'],
  ['ack', 'publish-ack (gateway publish → stream ack)'],
  ['deliver', 'agent receipt (gateway publish → agent callback)'],
  ['guard', 'agent guard (freshness, seen id on disk) → handler start'],
  ['handler', 'handler (agent: start → answer published)'],
  ['stored', 'answer publish-ack (agent publish → stored by the stream, server clock)'],
  ['answer', 'gateway receipt (agent publish → gateway hears the answer)'],
  ['reply', 'HTTP reply (gateway hears the answer → response sent)'],
  ['ackwait', 'publish-ack still awaited after the answer arrived (negative: it came first)'],
];

/** Collects the hops of many runs of one command and turns them into bench rows. */
export function hopRecorder(what: string) {
  const samples = new Map<string, number[]>(HOPS.map(([k]) => [k, []]));
  const totals: number[] = [];
  return {
    add(call: TimedCall, storedAfterMs: number) {
      const s = call.server;
      const want = ['auth', 'checks', 'ack', 'deliver', 'guard', 'handler', 'answer', 'reply', 'ackwait', 'gateway', 'start', 'end'];
      const missing = want.filter((k) => s[k] === undefined);
      if (missing.length) throw new Error(`${what}: Server-Timing lacks ${missing.join(', ')} (is GC_SERVER_TIMING=1 set?)`);
      if (Number.isNaN(call.clientSideMs)) throw new Error(`${what}: the call left no Resource Timing entry`);
      totals.push(call.clientMs);
      samples.get('transport')!.push(call.clientMs - s.gateway!);
      samples.get('transport-client')!.push(call.clientSideMs);
      samples.get('transport-server')!.push(call.clientMs - s.gateway! - call.clientSideMs);
      samples.get('transport-in')!.push(s.start! - call.requestSentMs);
      samples.get('transport-out')!.push(call.responseHeadersMs - s.end!);
      samples.get('stored')!.push(storedAfterMs);
      for (const k of want) samples.get(k)?.push(s[k]!);
    },
    /** "label a.aa ms, …": the `n` hops with the largest p50, for the note of a missed goal. */
    largest(n: number): string {
      return HOPS.filter(([k]) => k !== 'ackwait' && !k.startsWith('transport-'))
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
      return HOPS.map(([k, label]) => {
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
