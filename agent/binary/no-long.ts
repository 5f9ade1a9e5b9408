/**
 * `long` inside the single-file agent (the build aliases the package to this module). protobufjs
 * loads long.js when it finds it, but the generated code sets `util.Long = undefined` (int64 fields are
 * plain numbers, see proto/gen.ts), so long.js is never used: it would only compile its WebAssembly
 * multiplier at start-up (V8's wasm decoder and compiler, ~2 MiB of an idle agent's memory).
 * Exporting no `isLong` makes protobufjs's probe answer null, as if long.js were not installed.
 */
export {};
