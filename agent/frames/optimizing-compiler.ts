/**
 * V8's optimizing compiler (TurboFan) for the capture loop. The single-file agent starts without it
 * (`--no-turbofan`, agent/binary/v8-footprint.ts): an idle agent runs little JavaScript, and never
 * compiling optimized code spares the compiler's code pages of the executable and its zones and
 * optimized code on the heap (4-5 MiB of an idle agent). Tile diffing and encoding are hot loops that
 * need it: without TurboFan the capture loop took 3 times the CPU (capture bench, moving square).
 * So the first capture turns it on for the rest of the process's life; where it is already on (the
 * agent from source, tests, benches) this changes nothing.
 */
import { setFlagsFromString } from 'node:v8';

let on = false;

/** Turns V8's optimizing compiler on (idempotent): functions that are hot from now on get optimized. */
export function ensureOptimizingCompiler(): void {
  if (on) return;
  setFlagsFromString('--turbofan');
  on = true;
}
