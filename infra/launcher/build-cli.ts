/**
 * `node --import tsx infra/launcher/build-cli.ts`: builds the stack (build-stack.ts) if its sources
 * changed and prints the built launcher's path, which infra/up.sh then runs with bare `node`.
 */
import { buildStack } from './build-stack.js';

const build = await buildStack({ log: (line) => console.error(`[guruconnect] ${line}`) });
console.log(build.script('launcher'));
