/**
 * zod's `locales` namespace inside the single-file agent (the build resolves zod's own
 * `../locales/index.js` here). The agent's messages are English only: zod's other locales were
 * ~300 KB of the bundle, source V8 keeps in memory for as long as the agent runs.
 */
export { default as en } from 'zod/v4/locales/en.js';
