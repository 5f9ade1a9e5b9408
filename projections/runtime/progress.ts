/** A progress bar with events/s for long CLI runs, written to stderr (stdout stays data). */
export interface Progress {
  update(done: number): void;
  finish(): void;
}

export function progressBar(label: string, total: number, out: NodeJS.WriteStream = process.stderr): Progress {
  const started = Date.now();
  let lastDraw = 0;
  const draw = (done: number, force = false) => {
    const now = Date.now();
    if (!force && now - lastDraw < 200) return;
    lastDraw = now;
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const width = 30;
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
    const rate = Math.round((done * 1000) / Math.max(1, now - started));
    const line = `${label} [${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${done}/${total} ${rate} events/s`;
    out.write(out.isTTY ? `\r${line}` : `${line}\n`);
  };
  return {
    update: (done) => draw(done),
    finish: () => {
      draw(total, true);
      if (out.isTTY) out.write('\n');
    },
  };
}
