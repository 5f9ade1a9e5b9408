/**
 * The Win32 functions the Windows backend calls, declared once through koffi and loaded on first use
 * (so pure modules and Linux tests can import this folder without touching any DLL).
 * Every handle and pointer is a `void *` (a BigInt in koffi 3); out-parameters are Buffers the caller
 * decodes, so each structure layout is visible in one place in the module that uses it.
 */
import koffi from 'koffi';
import type { CopyFrom } from './frame-copy.js';

// biome-ignore lint/suspicious/noExplicitAny: koffi functions are variadic by nature.
type Fn = (...args: any[]) => any;
type AsyncFn = Fn & { async: Fn; info: { name: string } };

const decl = {
  kernel32: [
    'uint32_t __stdcall GetLastError()',
    'bool __stdcall CloseHandle(void *h)',
    'bool __stdcall GetComputerNameW(void *buf, void *size)',
    'uint64_t __stdcall GetTickCount64()',
    'uint32_t __stdcall GetOEMCP()',
    'uint32_t __stdcall GetCurrentProcessId()',
    'void * __stdcall GetModuleHandleW(void *name)',
    'void * __stdcall GetCurrentProcess()',
    'uint32_t __stdcall WTSGetActiveConsoleSessionId()',
    'bool __stdcall GlobalMemoryStatusEx(void *status)',
    'int __stdcall MultiByteToWideChar(uint32_t cp, uint32_t flags, void *mb, int cb, void *wide, int cch)',
    'void * __stdcall CreateToolhelp32Snapshot(uint32_t flags, uint32_t pid)',
    'bool __stdcall Process32FirstW(void *snap, void *entry)',
    'bool __stdcall Process32NextW(void *snap, void *entry)',
    'void * __stdcall OpenProcess(uint32_t access, bool inherit, uint32_t pid)',
    'bool __stdcall TerminateProcess(void *h, uint32_t code)',
    'bool __stdcall ProcessIdToSessionId(uint32_t pid, void *session)',
    'bool __stdcall GetProcessTimes(void *h, void *creation, void *exit, void *kernel, void *user)',
    'bool __stdcall K32GetProcessMemoryInfo(void *h, void *counters, uint32_t cb)',
    'bool __stdcall CreatePipe(void *read, void *write, void *sa, uint32_t size)',
    'bool __stdcall SetHandleInformation(void *h, uint32_t mask, uint32_t flags)',
    'bool __stdcall CreateProcessW(void *app, void *cmd, void *pa, void *ta, bool inherit, uint32_t flags, void *env, void *cwd, void *si, void *pi)',
    'bool __stdcall PeekNamedPipe(void *h, void *buf, uint32_t size, void *read, void *avail, void *left)',
    'bool __stdcall ReadFile(void *h, void *buf, uint32_t size, void *read, void *overlapped)',
    'uint32_t __stdcall WaitForSingleObject(void *h, uint32_t ms)',
    'bool __stdcall GetExitCodeProcess(void *h, void *code)',
    'uint32_t __stdcall ResumeThread(void *h)',
    'void * __stdcall CreateJobObjectW(void *sa, void *name)',
    'bool __stdcall SetInformationJobObject(void *job, int cls, void *info, uint32_t size)',
    'bool __stdcall AssignProcessToJobObject(void *job, void *process)',
    'bool __stdcall TerminateJobObject(void *job, uint32_t code)',
    'bool __stdcall WriteFile(void *h, void *buf, uint32_t size, void *written, void *overlapped)',
    'bool __stdcall InitializeProcThreadAttributeList(void *list, uint32_t count, uint32_t flags, void *size)',
    'bool __stdcall UpdateProcThreadAttribute(void *list, uint32_t flags, uintptr_t attr, void *value, uintptr_t cb, void *prev, void *retSize)',
    'void __stdcall DeleteProcThreadAttributeList(void *list)',
    // Session helper (helper-launch.ts): its stderr goes to NUL.
    'void * __stdcall CreateFileW(void *name, uint32_t access, uint32_t share, void *sa, uint32_t disposition, uint32_t flags, void *template)',
    // Captured pixels into a frame's buffer (nativeCopier): addresses as integers, so rows need no views.
    'void __stdcall RtlMoveMemory(uintptr_t dst, uintptr_t src, uintptr_t len)',
  ],
  wtsapi32: [
    'bool __stdcall WTSEnumerateSessionsW(void *server, uint32_t reserved, uint32_t version, void *sessions, void *count)',
    'bool __stdcall WTSQuerySessionInformationW(void *server, uint32_t session, int cls, void *buf, void *bytes)',
    'void __stdcall WTSFreeMemory(void *p)',
    'bool __stdcall WTSQueryUserToken(uint32_t session, void *token)',
    'bool __stdcall WTSRegisterSessionNotification(void *hwnd, uint32_t flags)',
    'bool __stdcall WTSUnRegisterSessionNotification(void *hwnd)',
  ],
  advapi32: [
    'bool __stdcall OpenProcessToken(void *process, uint32_t access, void *token)',
    'bool __stdcall GetTokenInformation(void *token, int cls, void *info, uint32_t size, void *needed)',
    'bool __stdcall LookupAccountSidW(void *system, void *sid, void *name, void *cchName, void *domain, void *cchDomain, void *use)',
    'void * __stdcall OpenSCManagerW(void *machine, void *db, uint32_t access)',
    'bool __stdcall EnumServicesStatusExW(void *scm, int level, uint32_t type, uint32_t state, void *buf, uint32_t size, void *needed, void *count, void *resume, void *group)',
    'void * __stdcall OpenServiceW(void *scm, void *name, uint32_t access)',
    'bool __stdcall QueryServiceConfigW(void *svc, void *buf, uint32_t size, void *needed)',
    'bool __stdcall QueryServiceStatusEx(void *svc, int level, void *buf, uint32_t size, void *needed)',
    'bool __stdcall StartServiceW(void *svc, uint32_t argc, void *argv)',
    'bool __stdcall ControlService(void *svc, uint32_t control, void *status)',
    'bool __stdcall CloseServiceHandle(void *h)',
    'bool __stdcall CreateProcessAsUserW(void *token, void *app, void *cmd, void *pa, void *ta, bool inherit, uint32_t flags, void *env, void *cwd, void *si, void *pi)',
    // Session helper (helper-launch.ts): the agent's own SYSTEM token, moved into the target session.
    'bool __stdcall DuplicateTokenEx(void *token, uint32_t access, void *sa, int level, int type, void *out)',
    'bool __stdcall SetTokenInformation(void *token, int cls, void *info, uint32_t size)',
  ],
  userenv: ['bool __stdcall CreateEnvironmentBlock(void *env, void *token, bool inherit)', 'bool __stdcall DestroyEnvironmentBlock(void *env)'],
  ntdll: ['int32_t __stdcall RtlGetVersion(void *info)'],
  user32: [
    'void * __stdcall GetDC(void *hwnd)',
    'int __stdcall ReleaseDC(void *hwnd, void *dc)',
    'int __stdcall GetSystemMetrics(int index)',
    'uint32_t __stdcall SendInput(uint32_t count, void *inputs, int size)',
    'void * __stdcall OpenInputDesktop(uint32_t flags, bool inherit, uint32_t access)',
    'bool __stdcall SetThreadDesktop(void *desk)',
    'bool __stdcall CloseDesktop(void *desk)',
    'bool __stdcall GetUserObjectInformationW(void *obj, int index, void *info, uint32_t size, void *needed)',
    'bool __stdcall OpenClipboard(void *hwnd)',
    'bool __stdcall EmptyClipboard()',
    'bool __stdcall CloseClipboard()',
    'uint16_t __stdcall RegisterClassExW(void *wc)',
    'bool __stdcall UnregisterClassW(void *name, void *instance)',
    'void * __stdcall CreateWindowExW(uint32_t exStyle, void *cls, void *name, uint32_t style, int x, int y, int cx, int cy, void *parent, void *menu, void *instance, void *param)',
    'bool __stdcall DestroyWindow(void *hwnd)',
    'bool __stdcall IsWindow(void *hwnd)',
    'void * __stdcall FindWindowExW(void *parent, void *after, void *cls, void *title)',
    'int __stdcall GetClassNameW(void *hwnd, void *buf, int cch)',
    'intptr_t __stdcall DefWindowProcW(void *hwnd, uint32_t msg, uintptr_t wParam, intptr_t lParam)',
    'bool __stdcall PeekMessageW(void *msg, void *hwnd, uint32_t min, uint32_t max, uint32_t remove)',
    'bool __stdcall TranslateMessage(void *msg)',
    'intptr_t __stdcall DispatchMessageW(void *msg)',
    'bool __stdcall PostMessageW(void *hwnd, uint32_t msg, uintptr_t wParam, intptr_t lParam)',
    // The mouse pointer drawn into captured frames (cursor-reader.ts).
    'bool __stdcall GetCursorInfo(void *info)',
    'bool __stdcall GetCursorPos(void *point)',
    'bool __stdcall GetIconInfo(void *icon, void *info)',
    'void * __stdcall LoadCursorW(void *instance, uintptr_t name)',
  ],
  gdi32: [
    'void * __stdcall CreateCompatibleDC(void *dc)',
    'void * __stdcall CreateDIBSection(void *dc, void *bmi, uint32_t usage, void *bits, void *section, uint32_t offset)',
    'void * __stdcall SelectObject(void *dc, void *obj)',
    'bool __stdcall BitBlt(void *dst, int x, int y, int cx, int cy, void *src, int x1, int y1, uint32_t rop)',
    'bool __stdcall DeleteObject(void *obj)',
    'bool __stdcall DeleteDC(void *dc)',
    'bool __stdcall GdiFlush()',
    'int __stdcall GetObjectW(void *obj, int size, void *out)',
    'int __stdcall GetDIBits(void *dc, void *bitmap, uint32_t start, uint32_t lines, void *bits, void *bmi, uint32_t usage)',
  ],
} as const;

type Names<S> = S extends `${string} __stdcall ${infer N}(${string}` ? N : never;
type AllNames = { [L in keyof typeof decl]: Names<(typeof decl)[L][number]> }[keyof typeof decl];
export type Win32 = Record<AllNames, AsyncFn>;

let cached: Win32 | undefined;

/** The bound Win32 functions (loads the DLLs on first call; Windows only). */
export function win32(): Win32 {
  if (cached) return cached;
  const out: Record<string, AsyncFn> = {};
  for (const [dll, protos] of Object.entries(decl)) {
    const lib = koffi.load(`${dll}.dll`);
    for (const p of protos) {
      const fn = lib.func(p) as AsyncFn;
      out[fn.info.name] = fn;
    }
  }
  cached = out as Win32;
  return cached;
}

/** A WNDPROC in JS: receives every message of a window; returns the message's result. */
export type WndProc = (hwnd: bigint | null, msg: number, wParam: number | bigint, lParam: number | bigint) => number | bigint;

let wndProcType: ReturnType<typeof koffi.proto> | undefined;

/**
 * Registers `fn` as a native WNDPROC (koffi allows a few thousand at once): returns its address for
 * WNDCLASSEXW.lpfnWndProc; release it with `unregisterCallback` once no window of the class exists.
 */
export function registerWndProc(fn: WndProc): bigint {
  wndProcType ??= koffi.proto('intptr_t __stdcall GcWndProc(void *hwnd, uint32_t msg, uintptr_t wParam, intptr_t lParam)');
  return koffi.register(fn, koffi.pointer(wndProcType));
}

/** Frees a callback slot taken by `registerWndProc`. */
export function unregisterCallback(ptr: bigint): void {
  koffi.unregister(ptr);
}

/** INVALID_HANDLE_VALUE or NULL, as koffi returns them. */
export function badHandle(h: unknown): boolean {
  return h == null || h === 0n || h === -1n || h === 0xffffffffffffffffn;
}

/** The UTF-16 string at native address `ptr` (NULL gives ''). */
export function readWideAt(ptr: bigint): string {
  if (ptr === 0n) return '';
  return koffi.decode(ptr, 'char16_t', -1) as string;
}

/** Copies `len` bytes of native memory at `ptr` into a Buffer the GC owns. */
export function copyNative(ptr: bigint, len: number): Buffer {
  if (len <= 0 || ptr === 0n) return Buffer.alloc(0);
  return Buffer.from(Buffer.from(koffi.view(ptr, len)));
}

/**
 * A `CopyFrom` reading native memory at `ptr` (for frame-copy.ts): RtlMoveMemory straight into the
 * destination buffer. No koffi.view per grab: each view is an external ArrayBuffer only a GC frees,
 * and V8 counts it towards the external memory that forces full collections (at 30 grabs/s of
 * 8 MB, a mark-compact about every 100 ms on Linux before its grabber stopped making them).
 * The source must hold every byte asked for: the caller knows its size (DIB, mapped pitch).
 */
export function nativeCopier(ptr: bigint): CopyFrom {
  const move = win32().RtlMoveMemory;
  // User-mode addresses on x64 Windows are below 2^47: plain numbers, no BigInt per row.
  const src = Number.isSafeInteger(Number(ptr)) ? Number(ptr) : undefined;
  let lastDst: Uint8Array | undefined;
  let dstAt = 0n;
  return (dst, dstOffset, srcOffset, len) => {
    if (len <= 0) return;
    if (dstOffset < 0 || srcOffset < 0 || dstOffset + len > dst.byteLength) throw new RangeError(`copy of ${len} bytes at ${dstOffset} leaves a ${dst.byteLength}-byte buffer`);
    if (dst !== lastDst) {
      dstAt = koffi.address(dst);
      lastDst = dst;
    }
    const d = Number(dstAt) + dstOffset;
    if (src !== undefined && Number.isSafeInteger(d) && Number.isSafeInteger(src + srcOffset)) move(d, src + srcOffset, len);
    else move(dstAt + BigInt(dstOffset), ptr + BigInt(srcOffset), len);
  };
}

/** The address of a Buffer's first byte (for pointers a structure holds into its own buffer). */
export function addressOf(buf: Buffer): bigint {
  return koffi.address(buf);
}

/** GetLastError as "message (code)" text for error details. */
export function lastErrorText(api: string): { code: number; text: string } {
  const code = win32().GetLastError() as number;
  return { code, text: `${api} failed (Win32 error ${code})` };
}
