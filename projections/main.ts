/** The projection worker process: startProjections (start-projections.ts), and a clean stop on SIGINT / SIGTERM. */
import { startProjections } from './start-projections.js';

const started = await startProjections(process.env);
if (!started.ok) {
  console.error(`[projections] ${started.error.message}`);
  process.exit(2);
}
const running = started.value;
const shutdown = async () => {
  await running.stop();
  process.exit(0);
};
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
