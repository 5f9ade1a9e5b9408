/**
 * The single-file agent's V8 settings for memory (agent/binary/v8-flags.ts says which and why),
 * applied before any other module of the bundle runs: the first import of sea-main.ts.
 */
import { applyFootprintFlags } from './v8-flags.js';

applyFootprintFlags();
