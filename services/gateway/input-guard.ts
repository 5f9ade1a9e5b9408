/**
 * One check for every route: strings that PostgreSQL or the audit log cannot hold safely (NUL, lone
 * UTF-16 surrogates) and absurdly nested JSON are refused at the edge with 400, naming the field,
 * before any schema, handler or database sees them.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ErrorCode } from '../../proto/errors.js';
import { UNSAFE_TEXT } from '../../proto/text.js';
import { envelope } from './errors.js';

/** Deeper than any body of our API; a 64 KB body could otherwise nest some 30,000 levels. */
export const MAX_JSON_DEPTH = 16;

const UNSAFE = UNSAFE_TEXT;
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'g');

/** The text with NUL and lone surrogates replaced by U+FFFD, for recording a refused value. */
export function safeText(s: string, max = 64): string {
  return s.slice(0, max).replace(UNSAFE_ALL, '\ufffd');
}

// A lone surrogate alone: for text where NUL is a real value (a terminal's Ctrl+@ keystroke).
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * What is wrong with `value` and where, or undefined when every string in it is safe. `allowNul`:
 * string values may hold NUL (keys never), for input that is never stored as text.
 */
export function findUnsafeInput(value: unknown, where: string, o: { allowNul?: boolean } = {}): string | undefined {
  const stack: [unknown, string, number][] = [[value, where, 0]];
  while (stack.length) {
    const [v, path, depth] = stack.pop()!;
    if (typeof v === 'string') {
      if ((o.allowNul ? LONE_SURROGATE : UNSAFE).test(v)) return `${path} contains a NUL character or a lone UTF-16 surrogate; send valid text`;
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth >= MAX_JSON_DEPTH) return `${path} is nested too deep (over ${MAX_JSON_DEPTH} levels)`;
    if (Array.isArray(v)) {
      for (const [i, x] of v.entries()) stack.push([x, `${path}[${i}]`, depth + 1]);
      continue;
    }
    for (const [k, x] of Object.entries(v)) {
      if (UNSAFE.test(k)) return `a key in ${path} contains a NUL character or a lone UTF-16 surrogate`;
      stack.push([x, `${path}.${k}`, depth + 1]);
    }
  }
  return undefined;
}

/** Called for each refused request (e.g. to audit a refused login); must not throw. */
export type OnRefused = (request: FastifyRequest, problem: string) => Promise<void>;

/** Adds the check as a root preValidation hook; call before any route or plugin is registered. */
export function installInputGuard(app: FastifyInstance, onRefused: OnRefused = async () => {}): void {
  app.addHook('preValidation', async (request, reply) => {
    const problem = findUnsafeInput(request.params, 'params') ?? findUnsafeInput(request.query, 'query') ?? findUnsafeInput(request.body, 'body');
    if (!problem) return;
    await onRefused(request, problem);
    return reply.code(400).send(envelope(ErrorCode.VALIDATION_FAILED, problem, String(request.id)));
  });
}
