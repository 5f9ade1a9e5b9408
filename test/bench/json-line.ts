/** One benchmark figure as one JSON object (`npm run bench -- --json`, `npm run bench:load -- --json`). */
import type { BenchRow } from './types.js';

/** A row without a machine-readable figure still prints, its value as text. */
export function jsonLine(module: string, r: BenchRow) {
  const m = r.measured;
  return {
    module,
    figure: r.figure,
    value: m?.value ?? r.value,
    unit: m?.unit ?? null,
    baseline: r.baseline,
    baseline_value: m?.baselineValue ?? r.baselineValue,
    goal: m?.goal ?? null,
    met: m?.met ?? null,
  };
}
