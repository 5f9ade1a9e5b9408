/**
 * The agent-footprint bench's baseline: a single-file binary of the same Node with the agent's V8
 * settings that only holds what every agent must: a TLS connection to NATS with its own credentials
 * and a subscription on its own inbox tree. Its idle RSS is the floor no agent code can go under.
 * Arguments: <nats url> <creds file> <CA file> <agent id>. Prints "connected" once subscribed.
 */
import '../../../agent/binary/v8-footprint.js';
import { connectBus } from '../../../proto/bus/connect.js';
import { inboxes } from '../../../proto/subjects.js';

const [servers, credsFile, caFile, agentId] = process.argv.slice(2);
if (!servers || !credsFile || !caFile || !agentId) throw new Error('usage: runtime-floor <nats url> <creds> <ca> <agent id>');
connectBus({ servers, name: `floor-${agentId}`, credsFile, caFile, inboxPrefix: inboxes.agent(agentId) }).then(
  async (nc) => {
    nc.subscribe(`${inboxes.agent(agentId)}.>`, { callback: () => {} });
    await nc.flush();
    console.log('connected');
  },
  (e: Error) => {
    console.error(e.message);
    process.exit(1);
  },
);
