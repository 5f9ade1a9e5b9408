/** The command line of `guruconnect-agent install | uninstall | status`, validated once. Pure. */
import { hostname } from 'node:os';
import { z } from 'zod';
import { agentIdSchema } from '../../proto/ids.js';

const httpUrl = z
  .string()
  .max(2048)
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'https:' || u.protocol === 'http:') && !u.username && !u.password;
    } catch {
      return false;
    }
  }, 'must be an http(s) URL without user or password');
const natsUrl = z
  .string()
  .max(2048)
  // No control characters: the URL is stored, logged and printed back by `status`.
  .regex(/^(nats|tls|wss?):\/\/[^\s\p{Cc}]+$/u, 'must be a nats://, tls:// or ws(s):// URL');

const installArgsSchema = z.object({
  server: httpUrl,
  enrollKey: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII'),
  agentId: agentIdSchema,
  /** Overrides the NATS URL the gateway hands out (e.g. when it names a loopback address). */
  nats: natsUrl.optional(),
  dryRun: z.boolean(),
});
export type InstallArgs = z.infer<typeof installArgsSchema>;

const FLAGS: Record<string, keyof InstallArgs> = { '--server': 'server', '--enroll-key': 'enrollKey', '--agent-id': 'agentId', '--nats': 'nats' };

/** The sanitized host name: the default agent id, as agent/config.ts derives it. */
export function defaultAgentId(h = hostname()): string {
  return h.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64) || 'agent';
}

/** `install` arguments, or a message saying what is wrong. `--dry-run` needs no server or key. */
export function parseInstallArgs(argv: readonly string[]): { ok: true; value: InstallArgs } | { ok: false; message: string } {
  const raw: Record<string, unknown> = { dryRun: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--dry-run') {
      raw.dryRun = true;
      continue;
    }
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    // Own keys only: `constructor=x` or `__proto__` found Object.prototype's members and were taken silently.
    const key = Object.hasOwn(FLAGS, flag) ? FLAGS[flag] : undefined;
    if (!key) return { ok: false, message: `unknown argument ${JSON.stringify(a.slice(0, 100))}` };
    // A flag given twice (a copied command line with an extra --server) is refused, not decided by order.
    if (Object.hasOwn(raw, key)) return { ok: false, message: `${flag} is given twice` };
    const v = inline ?? argv[++i];
    if (v === undefined) return { ok: false, message: `${flag} needs a value` };
    raw[key] = v;
  }
  raw.agentId ??= defaultAgentId();
  if (raw.dryRun) {
    raw.server ??= 'https://gateway.invalid';
    raw.enrollKey ??= 'dry-run';
  }
  const parsed = installArgsSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, message: parsed.error.issues.map((i) => `--${String(i.path[0]).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${i.message}`).join('; ') };
  return { ok: true, value: parsed.data };
}
