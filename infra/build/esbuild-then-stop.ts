/**
 * esbuild for processes that build once and then run for days (the gateway's dashboard, the
 * launcher's stack build): esbuild answers from a service process of its own that stays resident
 * after the build (36-65 MiB measured beside the gateway), so it is stopped when the last build in
 * flight in this process ends. esbuild itself is loaded only when something is built.
 */
import type { BuildOptions, BuildResult } from 'esbuild';

let inFlight = 0;

/** Runs one esbuild build; the service process ends with the last build running in this process. */
export async function buildThenStop<O extends BuildOptions>(options: O & { [K in Exclude<keyof O, keyof BuildOptions>]: never }): Promise<BuildResult<O>> {
  const esbuild = await import('esbuild');
  inFlight++;
  try {
    return await esbuild.build(options);
  } finally {
    if (--inFlight === 0) await esbuild.stop();
  }
}
