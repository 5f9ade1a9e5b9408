/** The single-file binary's entry (CommonJS in the SEA: no top-level await). */
// First: V8 settings that must be in place before the rest of the bundle allocates.
import './v8-footprint.js';
import { main } from '../cli.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exit(code);
  },
  (e: Error) => {
    console.error(`guruconnect-agent: ${e.message}`);
    process.exit(1);
  },
);
