/**
 * `thread-stream` inside the single-file agent (the build aliases the package to this module). pino
 * requires it at load for its worker-thread transports, which the agent never uses: it logs JSON
 * lines to its own stream (proto/log/logger.ts). The real module would load node:worker_threads into
 * every idle agent (about 1.75 MiB resident) for nothing; this one says so if it is ever asked.
 * CommonJS, because pino requires it so: the class is the module.
 */
module.exports = class ThreadStream {
  constructor() {
    throw new Error('pino transports are not part of the agent binary: the agent logs to its own stream');
  }
};
