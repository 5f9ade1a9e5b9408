/**
 * koffi bindings to libX11 / libXext (MIT-SHM) / libXtst (XTest) and the libc shm calls, loaded once
 * on first use. Also installs the process-wide X error handlers: Xlib's defaults print and exit(),
 * which would take the whole agent down when one session's X server goes away.
 */
import koffi from 'koffi';

/** An X `Display *` (koffi 3 pointers are BigInt). */
export type DisplayPtr = bigint;
type Ptr = bigint;

export const ZPixmap = 2;
export const AllPlanes = 0xffffffffffffffffn;
export const IPC_PRIVATE = 0;
export const IPC_CREAT = 0o1000;
export const IPC_RMID = 0;
export const IPC_SET = 1;
export const IPC_STAT = 2;

/** Byte offsets inside `XImage` on LP64 (x86_64 / aarch64): 4 ints, then the data pointer. */
export const XIMAGE_DATA = 16;
export const XIMAGE_BYTES_PER_LINE = 44;
export const XIMAGE_BITS_PER_PIXEL = 48;
/** `XShmSegmentInfo { unsigned long shmseg; int shmid; char *shmaddr; Bool readOnly; }` on LP64. */
export const SHMINFO_SIZE = 32;
export const SHMINFO_SHMID = 8;
export const SHMINFO_SHMADDR = 16;
export const SHMINFO_READONLY = 24;
/** `struct shmid_ds` is 112 bytes on x86_64 glibc; the uid of `shm_perm` sits at offset 4. */
export const SHMID_DS_SIZE = 128;
export const SHMID_DS_UID = 4;

const XErrorEvent = koffi.struct('GcXErrorEvent', {
  type: 'int',
  display: 'void *',
  resourceid: 'unsigned long',
  serial: 'unsigned long',
  error_code: 'uint8_t',
  request_code: 'uint8_t',
  minor_code: 'uint8_t',
});
const XErrorHandler = koffi.proto('int GcXErrorHandler(void *dpy, GcXErrorEvent *ev)');
const XIOErrorHandler = koffi.proto('int GcXIOErrorHandler(void *dpy)');
const XIOErrorExitHandler = koffi.proto('void GcXIOErrorExitHandler(void *dpy, void *user)');

function bind() {
  const x11 = koffi.load('libX11.so.6');
  const xext = koffi.load('libXext.so.6');
  const xtst = koffi.load('libXtst.so.6');
  const libc = koffi.load('libc.so.6');
  return {
    XInitThreads: x11.func('int XInitThreads()'),
    XOpenDisplay: x11.func('void *XOpenDisplay(const char *name)'),
    XCloseDisplay: x11.func('int XCloseDisplay(void *dpy)'),
    XDefaultScreen: x11.func('int XDefaultScreen(void *dpy)'),
    XDefaultRootWindow: x11.func('unsigned long XDefaultRootWindow(void *dpy)'),
    XDefaultVisual: x11.func('void *XDefaultVisual(void *dpy, int screen)'),
    XDefaultDepth: x11.func('int XDefaultDepth(void *dpy, int screen)'),
    XGetGeometry: x11.func(
      'int XGetGeometry(void *dpy, unsigned long d, _Out_ unsigned long *root, _Out_ int *x, _Out_ int *y, _Out_ unsigned int *w, _Out_ unsigned int *h, _Out_ unsigned int *border, _Out_ unsigned int *depth)',
    ),
    XGetImage: x11.func('void *XGetImage(void *dpy, unsigned long d, int x, int y, unsigned int w, unsigned int h, unsigned long planes, int format)'),
    XFree: x11.func('int XFree(void *data)'),
    XFlush: x11.func('int XFlush(void *dpy)'),
    XSync: x11.func('int XSync(void *dpy, int discard)'),
    XInternAtom: x11.func('unsigned long XInternAtom(void *dpy, const char *name, int onlyIfExists)'),
    XSetSelectionOwner: x11.func('int XSetSelectionOwner(void *dpy, unsigned long selection, unsigned long owner, unsigned long time)'),
    XGetSelectionOwner: x11.func('unsigned long XGetSelectionOwner(void *dpy, unsigned long selection)'),
    XQueryPointer: x11.func(
      'int XQueryPointer(void *dpy, unsigned long w, _Out_ unsigned long *root, _Out_ unsigned long *child, _Out_ int *rx, _Out_ int *ry, _Out_ int *wx, _Out_ int *wy, _Out_ unsigned int *mask)',
    ),
    XQueryKeymap: x11.func('int XQueryKeymap(void *dpy, uint8_t *keys)'),
    XStringToKeysym: x11.func('unsigned long XStringToKeysym(const char *s)'),
    XKeysymToKeycode: x11.func('uint8_t XKeysymToKeycode(void *dpy, unsigned long keysym)'),
    XkbKeycodeToKeysym: x11.func('unsigned long XkbKeycodeToKeysym(void *dpy, uint8_t kc, int group, int level)'),
    XCreateGC: x11.func('void *XCreateGC(void *dpy, unsigned long d, unsigned long mask, void *values)'),
    XFreeGC: x11.func('int XFreeGC(void *dpy, void *gc)'),
    XSetForeground: x11.func('int XSetForeground(void *dpy, void *gc, unsigned long pixel)'),
    XFillRectangle: x11.func('int XFillRectangle(void *dpy, unsigned long d, void *gc, int x, int y, unsigned int w, unsigned int h)'),
    XSetBackground: x11.func('int XSetBackground(void *dpy, void *gc, unsigned long pixel)'),
    XDrawImageString: x11.func('int XDrawImageString(void *dpy, unsigned long d, void *gc, int x, int y, const char *s, int length)'),
    XSetErrorHandler: x11.func('void *XSetErrorHandler(GcXErrorHandler *handler)'),
    XSetIOErrorHandler: x11.func('void *XSetIOErrorHandler(GcXIOErrorHandler *handler)'),
    XSetIOErrorExitHandler: x11.func('void XSetIOErrorExitHandler(void *dpy, GcXIOErrorExitHandler *handler, void *user)'),
    XShmQueryExtension: xext.func('int XShmQueryExtension(void *dpy)'),
    XShmCreateImage: xext.func('void *XShmCreateImage(void *dpy, void *visual, unsigned int depth, int format, void *data, void *shminfo, unsigned int w, unsigned int h)'),
    XShmAttach: xext.func('int XShmAttach(void *dpy, void *shminfo)'),
    XShmDetach: xext.func('int XShmDetach(void *dpy, void *shminfo)'),
    XShmGetImage: xext.func('int XShmGetImage(void *dpy, unsigned long d, void *image, int x, int y, unsigned long planes)'),
    XTestQueryExtension: xtst.func('int XTestQueryExtension(void *dpy, _Out_ int *eventBase, _Out_ int *errorBase, _Out_ int *major, _Out_ int *minor)'),
    XTestFakeMotionEvent: xtst.func('int XTestFakeMotionEvent(void *dpy, int screen, int x, int y, unsigned long delay)'),
    XTestFakeButtonEvent: xtst.func('int XTestFakeButtonEvent(void *dpy, unsigned int button, int press, unsigned long delay)'),
    XTestFakeKeyEvent: xtst.func('int XTestFakeKeyEvent(void *dpy, unsigned int keycode, int press, unsigned long delay)'),
    shmget: libc.func('int shmget(int key, size_t size, int flags)'),
    shmat: libc.func('void *shmat(int id, void *addr, int flags)'),
    shmdt: libc.func('int shmdt(void *addr)'),
    shmctl: libc.func('int shmctl(int id, int cmd, void *buf)'),
    calloc: libc.func('void *calloc(size_t n, size_t size)'),
    free: libc.func('void free(void *ptr)'),
  };
}

export type Xlib = ReturnType<typeof bind>;

/** The last X protocol error seen per display, read (and cleared) by the caller after XSync. */
const lastError = new Map<Ptr, { errorCode: number; requestCode: number; minorCode: number }>();
/** Displays whose connection broke (server gone); every later call on them must be avoided. */
const deadDisplays = new Set<Ptr>();
let lib: Xlib | undefined;
let loadError: string | undefined;

/** The bound library, or why it could not be loaded (no libX11 on this machine). */
export function xlib(): { ok: true; lib: Xlib } | { ok: false; reason: string } {
  if (lib) return { ok: true, lib };
  if (loadError) return { ok: false, reason: loadError };
  try {
    const l = bind();
    // Two connections per desktop are used from the main thread and a koffi worker thread.
    l.XInitThreads();
    const onError = koffi.register((dpy: Ptr, ev: unknown) => {
      const e = koffi.decode(ev, XErrorEvent) as { error_code: number; request_code: number; minor_code: number };
      lastError.set(dpy, { errorCode: e.error_code, requestCode: e.request_code, minorCode: e.minor_code });
      return 0;
    }, koffi.pointer(XErrorHandler));
    l.XSetErrorHandler(onError);
    const onIoError = koffi.register((dpy: Ptr) => {
      deadDisplays.add(dpy);
      return 0;
    }, koffi.pointer(XIOErrorHandler));
    l.XSetIOErrorHandler(onIoError);
    lib = l;
    return { ok: true, lib: l };
  } catch (e) {
    loadError = `cannot load X11 libraries: ${(e as Error).message}`;
    return { ok: false, reason: loadError };
  }
}

const exitHandler = { ptr: undefined as bigint | undefined };

/** Keeps Xlib from calling exit() when this display's server goes away (libX11 >= 1.7). */
export function surviveIoErrors(l: Xlib, dpy: DisplayPtr): void {
  exitHandler.ptr ??= koffi.register((d: Ptr) => {
    deadDisplays.add(d);
  }, koffi.pointer(XIOErrorExitHandler));
  l.XSetIOErrorExitHandler(dpy, exitHandler.ptr, null);
}

/** Returns and clears the X error recorded for `dpy` since the last call. */
export function takeXError(dpy: DisplayPtr): { errorCode: number; requestCode: number } | undefined {
  const e = lastError.get(dpy);
  lastError.delete(dpy);
  return e;
}

/** True once the connection to this display broke. */
export function isDead(dpy: DisplayPtr): boolean {
  return deadDisplays.has(dpy);
}

/** Forgets bookkeeping for a closed display (pointers get reused by malloc). */
export function forgetDisplay(dpy: DisplayPtr): void {
  deadDisplays.delete(dpy);
  lastError.delete(dpy);
}
