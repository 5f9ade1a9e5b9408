/** The agent from source (`tsx agent/main.ts [run|install|uninstall|status|--version]`): the binary's command line (agent/cli.ts). */
import { applyFootprintFlags } from './binary/v8-flags.js';
import { main } from './cli.js';

// The local stack's agent (infra/launcher/stack.ts sets it for `bash infra/up.sh`) idles with the
// single-file binary's V8 settings, switching to V8's defaults while it captures, as the binary does.
// Set before main() loads the agent's modules: cli.ts loads each command's modules on demand.
if (process.env.GC_AGENT_V8_FOOTPRINT === '1') applyFootprintFlags();

const code = await main(process.argv.slice(2));
if (code !== undefined) process.exit(code);
