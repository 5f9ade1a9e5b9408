/** Small statistics for benchmarks: percentiles and formatting. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** "p50 1.23 ms / p99 4.56 ms" for a list of millisecond samples. */
export function latency(samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  return `p50 ${fmt(percentile(s, 50))} ms / p99 ${fmt(percentile(s, 99))} ms (n=${s.length})`;
}

export function p50(samples: number[]): number {
  return percentile(
    [...samples].sort((a, b) => a - b),
    50,
  );
}

export function fmt(n: number): string {
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

/** Runs `fn` `n` times one after another and returns each duration in ms. */
export async function timeEach(n: number, fn: (i: number) => Promise<unknown>, onProgress?: (i: number) => void): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    out.push(performance.now() - t);
    if (onProgress && (i + 1) % Math.max(1, Math.floor(n / 5)) === 0) onProgress(i + 1);
  }
  return out;
}

/** The machine-readable form of a latency figure: its p50 in ms beside the baseline's p50. */
export function p50Measured(samples: number[], baseline?: number[], goal?: { goal: string; met: boolean }) {
  return { value: p50(samples), unit: 'ms (p50)', ...(baseline ? { baselineValue: p50(baseline) } : {}), ...goal };
}

/**
 * Whether a frame rate counted over `seconds` reaches `target`: frames counted in a window can be one
 * short of the target through where the window's edges fall, never more; anything below that is
 * frames not sent or not painted, and a missed goal.
 */
export function frameRateMet(fps: number, seconds: number, target: number): boolean {
  return fps * seconds >= target * seconds - 1;
}
