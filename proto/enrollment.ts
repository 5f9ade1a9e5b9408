/** The enrollment exchange between an installer and the gateway (`POST /api/agents/enroll`): one schema for both sides. */
import { z } from 'zod';

/** What the gateway answers an enrolled agent: its own NATS credentials and how to reach NATS. */
export const enrollReplySchema = z.object({
  agent_id: z.string(),
  creds: z
    .string()
    .min(1)
    .max(64 * 1024),
  nats_url: z.union([z.string(), z.array(z.string())]),
  site: z.string(),
  nats_ca: z
    .string()
    .max(64 * 1024)
    .optional()
    .describe("PEM of the CA the NATS servers chain to: the agent's GC_NATS_CA, so it trusts exactly its own deployment"),
});
export type EnrollReply = z.infer<typeof enrollReplySchema>;
