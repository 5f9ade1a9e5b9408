/** Pushes an account JWT to running nats-servers through the system account ($SYS.REQ.CLAIMS.UPDATE). */
import { credsAuthenticator } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ErrorCode, type Result, err, ok } from '../../proto/errors.js';
import { busTls } from '../../proto/bus/connect.js';

const claimsReplySchema = z.object({
  data: z.object({ code: z.number().optional(), message: z.string().optional() }).optional(),
  error: z.object({ code: z.number().optional(), description: z.string().optional() }).optional(),
});

/**
 * Sends `accountJwt` to the servers; a full resolver stores it and applies it (revocations disconnect
 * users). Over TLS verified against `caFile` when given, as every client of ours (proto/bus/connect.ts).
 */
export async function pushAccountJwt(servers: string | string[], systemCredsFile: string, accountJwt: string, caFile?: string): Promise<Result<void>> {
  let nc: Awaited<ReturnType<typeof connect>> | undefined;
  try {
    nc = await connect({
      servers,
      ...busTls({ servers, caFile }),
      name: 'gc-claims-update',
      authenticator: credsAuthenticator(await readFile(systemCredsFile)),
      maxReconnectAttempts: 2,
    });
    const reply = await nc.request('$SYS.REQ.CLAIMS.UPDATE', new TextEncoder().encode(accountJwt), { timeout: 5_000 });
    const parsed = claimsReplySchema.safeParse(reply.json());
    if (!parsed.success) return err(ErrorCode.BUS_UNAVAILABLE, `unexpected reply to the account update: ${reply.string()}`);
    if (parsed.data.error) return err(ErrorCode.BUS_UNAVAILABLE, `nats-server refused the account update: ${parsed.data.error.description ?? 'no reason given'}`);
    // Other servers of a cluster get the update through the resolver's own gossip.
    await nc.flush();
    return ok(undefined);
  } catch (e) {
    return err(ErrorCode.BUS_UNAVAILABLE, `could not push the account update to NATS: ${(e as Error).message}`);
  } finally {
    await nc?.close().catch(() => {});
  }
}
