/**
 * The raw ConPTY calls: a pseudo console over two anonymous pipes, its size, and the STARTUPINFOEXW
 * that attaches a new process to it. CreatePseudoConsole, ResizePseudoConsole and ClosePseudoConsole
 * exist only from Windows 10 1809 / Server 2019 on, so they are bound here on first use and apart
 * from win32-api.ts: one missing export there would make every Win32 call of the backend fail to load.
 */
import koffi from 'koffi';
import { ErrorCode, type Result, err, ok } from '../../../proto/errors.js';
import { closeAll } from './process-job.js';
import { addressOf, lastErrorText, win32 } from './win32-api.js';

const PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE = 0x00020016;
const E_NOTIMPL = 0x80004001;
/** Large enough that a burst of output or a paste rarely waits for the other side. */
const PIPE_BYTES = 64 * 1024;
const STARTUPINFOEXW_BYTES = 112;
const STARTF_USESTDHANDLES = 0x100;

// biome-ignore lint/suspicious/noExplicitAny: koffi functions are variadic by nature.
type Fn = (...args: any[]) => any;
interface ConPtyFns {
  CreatePseudoConsole: Fn;
  ResizePseudoConsole: Fn;
  ClosePseudoConsole: Fn & { async: Fn };
}
let bound: ConPtyFns | null | undefined;

/** The ConPTY functions of this Windows, or undefined before Windows 10 1809. */
function conPtyFns(): ConPtyFns | undefined {
  if (bound !== undefined) return bound ?? undefined;
  try {
    const k = koffi.load('kernel32.dll');
    // COORD {SHORT X; SHORT Y} by value is one 32-bit register on x64: passed as a uint32 (see coord).
    bound = {
      CreatePseudoConsole: k.func('int32_t __stdcall CreatePseudoConsole(uint32_t size, void *input, void *output, uint32_t flags, void *hpc)'),
      ResizePseudoConsole: k.func('int32_t __stdcall ResizePseudoConsole(void *hpc, uint32_t size)'),
      ClosePseudoConsole: k.func('void __stdcall ClosePseudoConsole(void *hpc)') as ConPtyFns['ClosePseudoConsole'],
    };
  } catch {
    bound = null;
  }
  return bound ?? undefined;
}

/** A terminal size COORD as the uint32 the x64 calling convention passes it in (X low, Y high). */
export function coord(cols: number, rows: number): number {
  return (((rows & 0xffff) << 16) | (cols & 0xffff)) >>> 0;
}

/** Columns or rows as a terminal can have them (1..1000), else the fallback. */
export function clampSize(n: number, fallback: number): number {
  return Number.isInteger(n) && n >= 1 && n <= 1000 ? n : fallback;
}

const hresult = (hr: number) => `0x${(hr >>> 0).toString(16).padStart(8, '0')}`;

/** Our side of a pseudo console: we write keystrokes to `input` and read VT output from `output`. */
export interface PseudoConsole {
  hpc: bigint;
  input: bigint;
  output: bigint;
}

/** A non-inheritable anonymous pipe: a later CreateProcess with inheritance must not pick up our ends. */
function pipe(): { read: bigint; write: bigint } | undefined {
  const r = Buffer.alloc(8);
  const wr = Buffer.alloc(8);
  if (!win32().CreatePipe(r, wr, null, PIPE_BYTES)) return undefined;
  return { read: r.readBigUInt64LE(0), write: wr.readBigUInt64LE(0) };
}

/** Creates a pseudo console of `cols` x `rows` over two new pipes. */
export function openPseudoConsole(cols: number, rows: number): Result<PseudoConsole> {
  const api = conPtyFns();
  if (!api) return err(ErrorCode.NOT_AVAILABLE, 'the interactive terminal needs ConPTY (Windows 10 1809 / Windows Server 2019 or later); use Commands mode');
  const toConsole = pipe();
  const fromConsole = pipe();
  if (!toConsole || !fromConsole) {
    const e = lastErrorText('CreatePipe');
    closeAll(toConsole?.read, toConsole?.write, fromConsole?.read, fromConsole?.write);
    return err(ErrorCode.PLATFORM_ERROR, e.text);
  }
  const out = Buffer.alloc(8);
  const hr = api.CreatePseudoConsole(coord(cols, rows), toConsole.read, fromConsole.write, 0, out) as number;
  // conhost holds its own duplicates of its pipe ends; ours would keep the pipes alive after it ends.
  closeAll(toConsole.read, fromConsole.write);
  if (hr !== 0) {
    closeAll(toConsole.write, fromConsole.read);
    return err(ErrorCode.PLATFORM_ERROR, `CreatePseudoConsole failed (HRESULT ${hresult(hr)})`);
  }
  return ok({ hpc: out.readBigUInt64LE(0), input: toConsole.write, output: fromConsole.read });
}

/** Tells the pseudo console (and so the shell's programs) the new window size. */
export function resizePseudoConsole(hpc: bigint, cols: number, rows: number): Result<void> {
  const api = conPtyFns();
  if (!api) return err(ErrorCode.NOT_AVAILABLE, 'ConPTY is not available');
  const hr = api.ResizePseudoConsole(hpc, coord(cols, rows)) as number;
  if (hr === 0) return ok(undefined);
  const code = hr >>> 0 === E_NOTIMPL ? ErrorCode.NOT_AVAILABLE : ErrorCode.PLATFORM_ERROR;
  return err(code, `ResizePseudoConsole failed (HRESULT ${hresult(hr)})`);
}

/**
 * Closes the pseudo console (conhost ends, and with it any process still attached). On a worker
 * thread: before Windows 11 24H2 the call waits until conhost has written its last output, which
 * needs the caller to keep reading the output pipe meanwhile.
 */
export function closePseudoConsole(hpc: bigint): Promise<void> {
  const api = conPtyFns();
  if (!api) return Promise.resolve();
  return new Promise((resolve) => api.ClosePseudoConsole.async(hpc, () => resolve()));
}

/** A STARTUPINFOEXW whose attribute list attaches the new process to a pseudo console; release after CreateProcess. */
export interface AttachingStartupInfo {
  si: Buffer;
  release(): void;
}

/**
 * STARTUPINFOEXW on x64: STARTUPINFOW (104 bytes; cb @0, lpDesktop @16, dwFlags @60, hStd* @80/88/96)
 * then lpAttributeList @104. The std handles are set to NULL on purpose (STARTF_USESTDHANDLES): else
 * the shell would get the agent's own stdout/stderr instead of the pseudo console's.
 */
export function attachingStartupInfo(hpc: bigint, desktop: Buffer | null): Result<AttachingStartupInfo> {
  const w = win32();
  const size = Buffer.alloc(8);
  w.InitializeProcThreadAttributeList(null, 1, 0, size); // fails by design: it reports the size needed
  const list = Buffer.alloc(Number(size.readBigUInt64LE(0)) || 64);
  if (!w.InitializeProcThreadAttributeList(list, 1, 0, size)) return err(ErrorCode.PLATFORM_ERROR, lastErrorText('InitializeProcThreadAttributeList').text);
  // The attribute's value is the HPCON itself, not a pointer to it.
  if (!w.UpdateProcThreadAttribute(list, 0, PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE, hpc, 8, null, null)) {
    const e = lastErrorText('UpdateProcThreadAttribute');
    w.DeleteProcThreadAttributeList(list);
    return err(ErrorCode.PLATFORM_ERROR, e.text);
  }
  const si = Buffer.alloc(STARTUPINFOEXW_BYTES);
  si.writeUInt32LE(STARTUPINFOEXW_BYTES, 0);
  if (desktop) si.writeBigUInt64LE(addressOf(desktop), 16);
  si.writeUInt32LE(STARTF_USESTDHANDLES, 60);
  si.writeBigUInt64LE(addressOf(list), 104);
  let released = false;
  return ok({
    si,
    release() {
      if (released) return;
      released = true;
      w.DeleteProcThreadAttributeList(list);
      // `list` and `desktop` must outlive CreateProcess: the structure holds only their addresses.
      void desktop;
    },
  });
}
