/**
 * `worker_threads` as pino sees it inside the single-file agent (infra/build/agent-binary.ts resolves
 * pino's import here): pino asks only whether it runs on the main thread, and the agent logs from its
 * main thread only. Everything else in the agent that wanted worker threads would get the real module.
 */
module.exports = { isMainThread: true };
