/** Events per second over a sliding window. */
export class RateMeter {
  private readonly samples: Array<[number, number]> = [];
  constructor(private readonly windowMs = 5000) {}

  add(n: number, now = Date.now()): void {
    this.samples.push([now, n]);
    this.trim(now);
  }

  perSec(now = Date.now()): number {
    this.trim(now);
    const first = this.samples[0];
    if (!first) return 0;
    const total = this.samples.reduce((s, [, n]) => s + n, 0);
    return Math.round((total * 1000) / Math.max(1000, now - first[0]));
  }

  private trim(now: number): void {
    while (this.samples.length > 0 && (this.samples[0]?.[0] ?? now) < now - this.windowMs) this.samples.shift();
  }
}
