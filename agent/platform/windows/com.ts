/**
 * COM through koffi, without a type library: an interface pointer points to a vtable, and a method is
 * the function pointer at a fixed slot of it, called with the interface pointer as first argument.
 * Slots come from the SDK headers (IUnknown takes 0..2; each derived interface appends its own).
 * Nothing here loads a DLL, so the module is safe to import anywhere.
 */
import koffi from 'koffi';

// biome-ignore lint/suspicious/noExplicitAny: native calls return whatever the prototype says.
type Native = any;

/** One method of an interface: call it synchronously, or on a koffi worker thread when it can block. */
export interface ComMethod {
  (self: bigint, ...args: unknown[]): Native;
  async(self: bigint, ...args: unknown[]): Promise<Native>;
}

const protos = new Map<string, ReturnType<typeof koffi.proto>>();

function protoOf(signature: string): ReturnType<typeof koffi.proto> {
  let p = protos.get(signature);
  if (!p) {
    p = koffi.proto(signature);
    protos.set(signature, p);
  }
  return p;
}

/** The pointer-sized value at native address `addr`. */
function readPointer(addr: bigint): bigint {
  return new DataView(koffi.view(addr, 8)).getBigUint64(0, true);
}

/** The function pointer at `slot` of the vtable of interface pointer `self`. */
function vtableSlot(self: bigint, slot: number): bigint {
  return readPointer(readPointer(self) + BigInt(slot * 8));
}

/**
 * A method at vtable `slot` with the native `signature`, whose first parameter is the interface
 * pointer, e.g. `comMethod(2, 'uint32_t __stdcall GcIUnknownRelease(void *self)')`. Each signature
 * needs a name of its own (koffi registers prototypes by name).
 */
export function comMethod(slot: number, signature: string): ComMethod {
  const type = protoOf(signature);
  const call = ((self: bigint, ...args: unknown[]) => koffi.call(vtableSlot(self, slot), type, self, ...args)) as ComMethod;
  call.async = (self, ...args) =>
    new Promise((resolve, reject) => {
      const fn = koffi.decode(vtableSlot(self, slot), type) as { async: (...a: unknown[]) => void };
      fn.async(self, ...args, (e: unknown, res: Native) => (e ? reject(e) : resolve(res)));
    });
  return call;
}

/** A GUID ("{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}", braces optional) in its 16-byte memory layout. */
export function guid(text: string): Buffer {
  const hex = text.replace(/[{}]/g, '');
  const m = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i.exec(hex);
  if (!m) throw new Error(`not a GUID: ${text}`);
  const b = Buffer.alloc(16);
  b.writeUInt32LE(Number.parseInt(m[1] as string, 16), 0);
  b.writeUInt16LE(Number.parseInt(m[2] as string, 16), 4);
  b.writeUInt16LE(Number.parseInt(m[3] as string, 16), 6);
  Buffer.from(`${m[4]}${m[5]}`, 'hex').copy(b, 8);
  return b;
}

const queryInterfaceFn = comMethod(0, 'int32_t __stdcall GcIUnknownQueryInterface(void *self, void *iid, void *out)');
const releaseFn = comMethod(2, 'uint32_t __stdcall GcIUnknownRelease(void *self)');

/** HRESULTs are signed: failure codes have the top bit set. */
export function failed(hr: number): boolean {
  return hr < 0;
}

/** An HRESULT as Windows prints it, e.g. 0x887A0022. */
export function hresultText(hr: number): string {
  return `0x${(hr >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
}

/** IUnknown::QueryInterface: the interface pointer, or the failing HRESULT. */
export function queryInterface(self: bigint, iid: Buffer): { ptr: bigint; hr: number } {
  const out = Buffer.alloc(8);
  const hr = queryInterfaceFn(self, iid, out) as number;
  return { ptr: failed(hr) ? 0n : out.readBigUInt64LE(0), hr };
}

/** IUnknown::Release, NULL-safe. */
export function release(self: bigint | undefined): void {
  if (self) releaseFn(self);
}

/** Reads the interface pointer a method wrote into an 8-byte out-parameter. */
export function outPointer(out: Buffer): bigint {
  return out.readBigUInt64LE(0);
}
