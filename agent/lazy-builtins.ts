/**
 * Node built-ins the agent needs only on first use, loaded then instead of at start-up: an idle agent
 * spawns nothing and encodes no tiles, and each built-in loaded costs its compiled code on the heap
 * and its source and code cache among the executable's resident pages.
 */
import type * as ChildProcess from 'node:child_process';
import { createRequire } from 'node:module';
import type * as Zlib from 'node:zlib';

// process.getBuiltinModule is Node 20.16+; the engines field allows 20.9.
const load = <T>(id: string): T => (process.getBuiltinModule?.(id) ?? createRequire(import.meta.url)(id)) as T;

export const childProcess = (): typeof ChildProcess => load('node:child_process');
export const zlib = (): typeof Zlib => load('node:zlib');
