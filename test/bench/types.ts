/** What every benchmark module returns: each figure beside its baseline measured in the same run. */
export interface BenchRow {
  /** What was measured, e.g. "projection throughput (events/s, with checkpoint)". */
  figure: string;
  /** The measured value, formatted with its unit, e.g. "48,100 events/s" or "p50 1.2 ms / p99 3.4 ms". */
  value: string;
  /** The baseline measured in the same run, e.g. "raw batched INSERT". */
  baseline: string;
  baselineValue: string;
  /** Goal or remark, e.g. "goal ≥ 50% of baseline: 61% ✓". */
  note?: string;
  /**
   * The same figure for scripts (`npm run bench -- --json`): the headline number and its unit, the
   * baseline's number in the same unit, and the goal the figure is held to, if any, with whether it was met.
   */
  measured?: { value: number; unit: string; baselineValue?: number; goal?: string; met?: boolean };
}

/** A benchmark module's entry point; `progress` prints a line while long work runs. */
export type BenchRun = (progress: (msg: string) => void) => Promise<BenchRow[]>;
