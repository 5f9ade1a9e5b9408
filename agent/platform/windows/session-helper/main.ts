/**
 * Entry of the session helper when it is bundled on its own (`node.exe session-helper.mjs
 * --gc-session-helper`). The agent's own entry can serve instead by calling `runSessionHelperIfAsked()`
 * first: then one bundle plays both roles (see docs/WINDOWS.md).
 */
import { runSessionHelperIfAsked } from './run.js';

if (!(await runSessionHelperIfAsked())) {
  process.stderr.write('the GuruConnect session helper is started by the agent, with --gc-session-helper\n');
  process.exit(64);
}
