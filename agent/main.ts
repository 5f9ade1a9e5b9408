/** The agent from source (`tsx agent/main.ts [run|install|uninstall|status|--version]`): the binary's command line (agent/cli.ts). */
import { main } from './cli.js';

const code = await main(process.argv.slice(2));
if (code !== undefined) process.exit(code);
