/** The single-file binary's entry (CommonJS in the SEA: no top-level await). */
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
