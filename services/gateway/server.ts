/** The gateway process: startGateway (start-gateway.ts), and a clean stop on SIGINT / SIGTERM. */
import { startGateway } from './start-gateway.js';

const gateway = await startGateway(process.env);
const shutdown = async () => {
  await gateway.stop();
  process.exit(0);
};
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
