/**
 * Whole-screen grabs of one X display: MIT-SHM when the server offers it (one shared segment,
 * reused), else plain XGetImage. The pixels are copied out before returning because the next grab
 * overwrites the segment. The X call runs on a koffi worker thread (`.async`) so a 1080p grab does
 * not stall the event loop; this connection must therefore never be used by two grabs at once.
 */
import koffi from 'koffi';
import { err, ErrorCode, ok, type Result } from '../../../../proto/errors.js';
import { frameBuffer } from '../../frame-buffer.js';
import type { RawFrame } from '../../port.js';
import {
  AllPlanes,
  type DisplayPtr,
  IPC_CREAT,
  IPC_PRIVATE,
  IPC_RMID,
  IPC_SET,
  IPC_STAT,
  forgetDisplay,
  isDead,
  SHMID_DS_SIZE,
  SHMID_DS_UID,
  SHMINFO_READONLY,
  SHMINFO_SHMADDR,
  SHMINFO_SHMID,
  SHMINFO_SIZE,
  takeXError,
  XIMAGE_BITS_PER_PIXEL,
  XIMAGE_BYTES_PER_LINE,
  XIMAGE_DATA,
  type Xlib,
  ZPixmap,
} from './xlib.js';

export interface Grabber {
  readonly usesShm: boolean;
  /**
   * A fresh frame; `recycle` (a frame the caller no longer needs) lends its buffer when the size
   * fits. `meanwhile` runs once on the main thread during the grab, while the image is read on a
   * worker thread when it can be (the pointer, read on another connection).
   */
  grab(recycle?: RawFrame, meanwhile?: () => void): Promise<Result<RawFrame>>;
  close(): void;
}

export interface GrabberOptions {
  shm?: boolean;
  async?: boolean;
  /**
   * The root window's size read on another connection of the same display (used on the main thread
   * only). Given, a grab into an existing segment reads the size while the image is read on the
   * worker thread, instead of one round trip before it on the main thread, and grabs again at the
   * new size when it changed. Under a loaded CPU the X server answers late and that round trip
   * held the agent's event loop for up to 21 ms a frame (viewer bench, scrolling text, traced).
   */
  rootSize?: () => Size | undefined;
}

export interface Size {
  width: number;
  height: number;
}

/** The size of `dpy`'s root window (a round trip to the X server), or undefined when it cannot be read. */
export function rootWindowSize(l: Xlib, dpy: DisplayPtr): Size | undefined {
  const w = [0];
  const h = [0];
  const ok = l.XGetGeometry(dpy, l.XDefaultRootWindow(dpy), [0n], [0], [0], w, h, [0], [0]);
  if (!ok || !w[0] || !h[0]) return undefined;
  return { width: w[0], height: h[0] };
}

interface ShmImage {
  image: bigint;
  shminfo: bigint;
  addr: bigint;
  width: number;
  height: number;
  stride: number;
  /**
   * The segment's pixels as one view, made once: a view made per grab is an 8 MiB external
   * ArrayBuffer at 1080p that only a garbage collection frees, and V8 counts it towards its
   * external-memory limit, so 30 of them a second forced a major collection about every 100 ms
   * (viewer bench, scrolling text: 131 mark-compacts in 11 s, 1.05 s of pauses, up to 22 ms each).
   */
  pixels: Uint8Array;
}

function callAsync<T>(fn: { async: (...args: unknown[]) => void }, ...args: unknown[]): Promise<T> {
  return new Promise((resolve, reject) => fn.async(...args, (e: unknown, r: T) => (e ? reject(e) : resolve(r))));
}

/**
 * Makes a grabber that owns `dpy` (a connection used by nothing else; closed by `close()` once no
 * grab is running). `ownerUid` is the X server's user:
 * the segment is handed to it so a server running as that user may attach it while mode stays 0600.
 */
export function createGrabber(l: Xlib, dpy: DisplayPtr, ownerUid: number, opts: GrabberOptions = {}): Grabber {
  const root = l.XDefaultRootWindow(dpy) as bigint;
  const screen = l.XDefaultScreen(dpy) as number;
  const visual = l.XDefaultVisual(dpy, screen) as bigint;
  const depth = l.XDefaultDepth(dpy, screen) as number;
  const useAsync = opts.async ?? true;
  let shmOk = (opts.shm ?? true) && l.XShmQueryExtension(dpy) !== 0;
  let shm: ShmImage | undefined;
  let busy = false;
  let closed = false;

  function shutdown(): void {
    destroyShm();
    if (!isDead(dpy)) l.XCloseDisplay(dpy);
    forgetDisplay(dpy);
  }

  function destroyShm(): void {
    if (!shm) return;
    if (!isDead(dpy)) {
      l.XShmDetach(dpy, shm.shminfo);
      l.XSync(dpy, 0);
    }
    l.shmdt(shm.addr);
    l.XFree(shm.image);
    l.free(shm.shminfo);
    shm = undefined;
  }

  function createShm(width: number, height: number): ShmImage | undefined {
    const shminfo = l.calloc(1, SHMINFO_SIZE) as bigint;
    const image = l.XShmCreateImage(dpy, visual, depth, ZPixmap, null, shminfo, width, height) as bigint | null;
    if (!image) {
      l.free(shminfo);
      return undefined;
    }
    const stride = koffi.decode(image, XIMAGE_BYTES_PER_LINE, 'int') as number;
    const id = l.shmget(IPC_PRIVATE, stride * height, IPC_CREAT | 0o600) as number;
    if (id < 0) {
      l.XFree(image);
      l.free(shminfo);
      return undefined;
    }
    const addr = l.shmat(id, null, 0) as bigint;
    if (addr === 0xffffffffffffffffn || addr === -1n) {
      l.shmctl(id, IPC_RMID, null);
      l.XFree(image);
      l.free(shminfo);
      return undefined;
    }
    handOver(id);
    koffi.encode(shminfo, SHMINFO_SHMID, 'int', id);
    koffi.encode(shminfo, SHMINFO_SHMADDR, 'void *', addr);
    koffi.encode(shminfo, SHMINFO_READONLY, 'int', 0);
    koffi.encode(image, XIMAGE_DATA, 'void *', addr);
    takeXError(dpy);
    l.XShmAttach(dpy, shminfo);
    l.XSync(dpy, 0);
    // Marked for removal now: the kernel frees it when both sides detach, even if we crash.
    l.shmctl(id, IPC_RMID, null);
    if (takeXError(dpy)) {
      l.shmdt(addr);
      l.XFree(image);
      l.free(shminfo);
      return undefined;
    }
    return { image, shminfo, addr, width, height, stride, pixels: new Uint8Array(koffi.view(addr as never, stride * height)) };
  }

  function handOver(id: number): void {
    if (process.getuid?.() !== 0 || ownerUid === 0) return;
    const ds = Buffer.alloc(SHMID_DS_SIZE);
    if (l.shmctl(id, IPC_STAT, ds) !== 0) return;
    ds.writeUInt32LE(ownerUid, SHMID_DS_UID);
    l.shmctl(id, IPC_SET, ds);
  }

  /** Copies the image out: into the recycled frame's buffer when it has exactly the size, else a new one. */
  function copyOut(src: Uint8Array, recycle: RawFrame | undefined): Uint8Array {
    const data = frameBuffer(recycle, src.byteLength);
    data.set(src);
    return data;
  }

  async function grabShm(width: number, height: number, recycle: RawFrame | undefined): Promise<Result<RawFrame> | undefined> {
    if (!shm || shm.width !== width || shm.height !== height) {
      destroyShm();
      shm = createShm(width, height);
      if (!shm) return undefined;
    }
    const s = shm;
    const done = useAsync ? await callAsync<number>(l.XShmGetImage as never, dpy, root, s.image, 0, 0, AllPlanes) : (l.XShmGetImage(dpy, root, s.image, 0, 0, AllPlanes) as number);
    if (!done || isDead(dpy)) return err(ErrorCode.SESSION_NOT_CAPTURABLE, 'XShmGetImage failed; the X server may have gone away');
    return ok({ width, height, stride: s.stride, data: copyOut(s.pixels, recycle) });
  }

  /**
   * A grab into the existing segment with the main thread free meanwhile: the image is read on the
   * worker thread while `rootSize` and `meanwhile` run here. The frame, or undefined when the root
   * is no longer the segment's size or the read failed (a smaller root fails the read), so the
   * caller grabs again the sequential way. `meanwhile` has run either way.
   */
  async function grabShmOverlapped(s: ShmImage, recycle: RawFrame | undefined, rootSize: () => Size | undefined, meanwhile: () => void): Promise<Result<RawFrame> | undefined> {
    const reading = callAsync<number>(l.XShmGetImage as never, dpy, root, s.image, 0, 0, AllPlanes);
    let g: Size | undefined;
    let done = 0;
    try {
      meanwhile();
      g = rootSize();
    } finally {
      // The connection is the worker's until the read ends, whatever happened here.
      done = await reading.catch(() => 0);
    }
    if (isDead(dpy)) return err(ErrorCode.SESSION_NOT_CAPTURABLE, 'XShmGetImage failed; the X server may have gone away');
    if (!done || !g || g.width !== s.width || g.height !== s.height) {
      takeXError(dpy);
      return undefined;
    }
    return ok({ width: s.width, height: s.height, stride: s.stride, data: copyOut(s.pixels, recycle) });
  }

  async function grabPlain(width: number, height: number, recycle: RawFrame | undefined): Promise<Result<RawFrame>> {
    const image = useAsync
      ? await callAsync<bigint | null>(l.XGetImage as never, dpy, root, 0, 0, width, height, AllPlanes, ZPixmap)
      : (l.XGetImage(dpy, root, 0, 0, width, height, AllPlanes, ZPixmap) as bigint | null);
    if (!image) return err(ErrorCode.SESSION_NOT_CAPTURABLE, 'XGetImage failed; the X server may have gone away');
    const stride = koffi.decode(image, XIMAGE_BYTES_PER_LINE, 'int') as number;
    const bpp = koffi.decode(image, XIMAGE_BITS_PER_PIXEL, 'int') as number;
    const ptr = koffi.decode(image, XIMAGE_DATA, 'void *') as bigint;
    const data = copyOut(new Uint8Array(koffi.view(ptr as never, stride * height)), recycle);
    l.XFree(ptr);
    l.XFree(image);
    if (bpp !== 32) return err(ErrorCode.SESSION_NOT_CAPTURABLE, `unsupported X visual: ${bpp} bits per pixel`);
    return ok({ width, height, stride, data });
  }

  return {
    get usesShm() {
      return shmOk;
    },
    async grab(recycle, meanwhile) {
      if (closed) return err(ErrorCode.SESSION_NOT_CAPTURABLE, 'desktop is closed');
      if (isDead(dpy)) return err(ErrorCode.SESSION_NOT_CAPTURABLE, 'the X server of this session has gone away');
      if (busy) return err(ErrorCode.CONFLICT, 'a grab is already running on this desktop');
      busy = true;
      let pending = meanwhile;
      const runMeanwhile = () => {
        const f = pending;
        pending = undefined;
        f?.();
      };
      try {
        if (shmOk && shm && useAsync && opts.rootSize) {
          const r = await grabShmOverlapped(shm, recycle, opts.rootSize, runMeanwhile);
          if (r) return r;
          // The size changed (or the read failed): the sequential path reads it again and reports.
        }
        const g = rootWindowSize(l, dpy);
        if (!g) return err(ErrorCode.SESSION_NOT_CAPTURABLE, 'cannot read the root window size');
        try {
          if (shmOk) {
            const r = await grabShm(g.width, g.height, recycle);
            if (r) return r;
            shmOk = false; // segment could not be shared (e.g. remote display): plain grabs from now on
          }
          return await grabPlain(g.width, g.height, recycle);
        } finally {
          runMeanwhile();
        }
      } finally {
        busy = false;
        if (closed) shutdown();
      }
    },
    close() {
      if (closed) return;
      closed = true;
      if (!busy) shutdown();
    },
  };
}
