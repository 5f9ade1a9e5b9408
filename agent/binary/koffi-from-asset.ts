/**
 * `koffi` inside the single-file agent (the build aliases the package to this module): a SEA can
 * require only Node's built-in modules, so koffi's native module travels as the SEA asset
 * `koffi.node` and is loaded from a file beside the executable. The file's name carries the
 * content's hash, and its bytes are checked before every load, so a stale or foreign file is never run.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Where the native module of this executable lives: `<exe dir>/guruconnect-native/koffi-<hash>.node`. */
function nativePath(execPath: string, hash: string): string {
  return join(dirname(execPath), 'guruconnect-native', `koffi-${hash.slice(0, 16)}.node`);
}

function loadNative(): Record<string | symbol, unknown> {
  // node:sea exists only in Node 20.12+ and only means something inside a SEA.
  const sea = process.getBuiltinModule?.('node:sea') ?? require('node:sea');
  const bytes = Buffer.from(sea.getAsset('koffi.node') as ArrayBuffer);
  const hash = createHash('sha256').update(bytes).digest('hex');
  const file = nativePath(process.execPath, hash);
  const same = (f: string) => existsSync(f) && createHash('sha256').update(readFileSync(f)).digest('hex') === hash;
  if (!same(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, bytes, { mode: 0o755 });
    renameSync(tmp, file);
    if (!same(file)) throw new Error(`koffi's native module at ${file} does not match the one in this executable`);
  }
  const mod = { exports: {} as Record<string | symbol, unknown> };
  process.dlopen(mod, file);
  return mod.exports;
}

let native: Record<string | symbol, unknown> | undefined;
/**
 * Loaded on first use, not at start-up: modules that declare koffi types at their top level are
 * imported by every agent, but most never call a native function (and `--version` writes no file).
 */
const koffi = new Proxy({} as Record<string | symbol, unknown>, {
  get: (_t, prop) => {
    native ??= loadNative();
    return native[prop];
  },
  has: (_t, prop) => {
    native ??= loadNative();
    return prop in native;
  },
});
export default koffi;
