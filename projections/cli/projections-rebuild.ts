/** `projections rebuild [name]`: rebuild one or every projection from sequence 1 and swap it in. */
import { parseArgs } from 'node:util';
import { migrateToLatest } from '../../infra/db/migrate.js';
import { projectionByName, projections } from '../all.js';
import { rebuildProjection } from '../rebuild/rebuild.js';
import { progressBar } from '../runtime/progress.js';
import { cliDeps } from './env.js';

/** CLI entry; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} });
  const name = positionals[0];
  const defs = name ? [projectionByName(name)].filter((d) => d !== undefined) : [...projections];
  if (defs.length === 0) {
    process.stderr.write(`unknown projection "${name}"; known: ${projections.map((p) => p.name).join(', ')}\n`);
    return 2;
  }
  const deps = await cliDeps('gc-projections-rebuild', true);
  if (typeof deps === 'string') {
    process.stderr.write(`${deps}\n`);
    return 2;
  }
  try {
    await migrateToLatest(deps.db!);
    for (const def of defs) {
      let bar: ReturnType<typeof progressBar> | undefined;
      const r = await rebuildProjection({
        nc: deps.nc,
        db: deps.db!,
        def,
        onProgress: (seq, last) => {
          bar ??= progressBar(`rebuild ${def.name}`, last);
          bar.update(seq);
        },
      });
      bar?.finish();
      if (!r.ok) {
        process.stderr.write(`${r.error.code}: ${r.error.message}\n`);
        return 1;
      }
      const rate = Math.round((r.value.events * 1000) / Math.max(1, r.value.ms));
      process.stderr.write(`rebuilt ${def.name}: ${r.value.events} events in ${r.value.ms} ms (${rate} events/s), checkpoint ${r.value.checkpoint}, ${r.value.undecodable} undecodable\n`);
    }
    return 0;
  } finally {
    await deps.close();
  }
}
