/**
 * Screen capture as remote-support agents do it: DXGI desktop duplication when the machine offers it,
 * GDI BitBlt otherwise or meanwhile. Why DXGI is not used is logged once per distinct reason.
 *
 * * DXGI cannot start (no D3D11 device, E_NOTIMPL as under Wine, several monitors, rotated screen):
 *   GDI, and DXGI is tried again later with a growing pause (2 s up to 60 s), since monitors, drivers
 *   and desktops change.
 * * DXGI_ERROR_ACCESS_LOST (desktop switch, UAC prompt, resolution change, full-screen app): the
 *   duplication is rebuilt at once; if that fails, GDI serves this grab and the pause applies.
 * * DXGI_ERROR_WAIT_TIMEOUT: nothing changed, the previous frame is returned (inside dxgi-capture.ts).
 *
 * Neither path puts the mouse pointer into the picture: it is read with GetCursorInfo for both
 * (cursor-reader.ts, not DXGI's pointer-shape API, so GDI and DXGI frames show it alike) and drawn in
 * by cursor-compositor.ts, which never writes into a frame already handed out.
 */
import type { Result } from '../../../proto/errors.js';
import type { RawFrame } from '../port.js';
import { createPointerCompositor } from './cursor-compositor.js';
import { createPointerReader } from './cursor-reader.js';
import { type DxgiGrabber, openDxgiGrabber } from './dxgi-capture.js';
import { sharesMemory } from '../frame-buffer.js';
import { createGdiGrabber, type ScreenRect, virtualScreen } from './gdi-capture.js';
import type { CaptureSource } from './helper-protocol.js';

export interface ScreenCaptureOptions {
  log: (msg: string) => void;
  /** false: GDI only (default true). */
  dxgi?: boolean;
  /** false: frames without the mouse pointer (default true). */
  pointer?: boolean;
  /** Injected for tests; defaults to the real DXGI grabber. */
  openDxgi?: (screen: ScreenRect) => Result<DxgiGrabber>;
}

export interface ScreenCapture {
  /**
   * The screen with the pointer; the same frame object again when nothing changed. `recycle`: a
   * frame the caller is done with, whose buffer receives the new pixels when its size fits.
   */
  grab(recycle?: RawFrame): Promise<Result<{ frame: RawFrame; source: CaptureSource }>>;
  /** Opens the duplication now (or logs why not) instead of at the first grab. */
  prepare(): void;
  /** The path the last grab took, or after prepare() the one the next grab will take. */
  readonly source: CaptureSource;
  /** Drops the duplication (the thread's desktop changed); the next grab builds a new one. */
  reset(): void;
  close(): void;
}

const FIRST_PAUSE_MS = 2000;
const MAX_PAUSE_MS = 60_000;

/** A capture of the calling thread's desktop, DXGI first. */
export function createScreenCapture(opts: ScreenCaptureOptions): ScreenCapture {
  const gdi = createGdiGrabber();
  const openDxgi = opts.openDxgi ?? ((s: ScreenRect) => openDxgiGrabber(s));
  const logged = new Set<string>();
  const logOnce = (msg: string) => {
    if (logged.has(msg)) return;
    logged.add(msg);
    opts.log(msg);
  };
  let dxgi: { grabber: DxgiGrabber; screen: ScreenRect } | undefined;
  let retryAt = 0;
  let pause = FIRST_PAUSE_MS;
  let source: CaptureSource = 'gdi';
  const pointer = opts.pointer === false ? undefined : { reader: createPointerReader(logOnce), compositor: createPointerCompositor() };
  /** The frame last handed out: "nothing changed" hands it out again, so it is never written into. */
  let lastOut: RawFrame | undefined;
  /** The pointer drawn in; frames have the virtual screen's top-left as origin (GDI's BitBlt source, DXGI's output). */
  const withPointer = (frame: RawFrame, screen: ScreenRect, recycle: RawFrame | undefined): RawFrame => {
    lastOut = pointer ? pointer.compositor.compose(frame, pointer.reader.read(screen), recycle) : frame;
    return lastOut;
  };

  const dropDxgi = () => {
    dxgi?.grabber.close();
    dxgi = undefined;
  };
  const tryOpen = (screen: ScreenRect): boolean => {
    const r = openDxgi(screen);
    if (r.ok) {
      dxgi = { grabber: r.value, screen };
      pause = FIRST_PAUSE_MS;
      logOnce(`capture: DXGI desktop duplication of ${r.value.description}`);
      return true;
    }
    logOnce(`capture: GDI BitBlt, because DXGI desktop duplication is unavailable: ${r.error.message}`);
    retryAt = Date.now() + pause;
    pause = Math.min(pause * 2, MAX_PAUSE_MS);
    return false;
  };

  const grabDxgi = async (screen: ScreenRect, recycle: RawFrame | undefined): Promise<Result<RawFrame> | undefined> => {
    if (dxgi && (dxgi.screen.width !== screen.width || dxgi.screen.height !== screen.height || dxgi.screen.x !== screen.x || dxgi.screen.y !== screen.y)) {
      dropDxgi(); // a monitor came or went: the duplicated output no longer is the whole screen
    }
    if (!dxgi && (Date.now() < retryAt || !tryOpen(screen))) return undefined;
    for (let attempt = 0; attempt < 2 && dxgi; attempt++) {
      const g = await dxgi.grabber.grab(recycle);
      if (g.ok) return g;
      if (!g.lost) return undefined; // no first frame yet: GDI for this one
      logOnce(`capture: ${g.error.message}; rebuilding the duplication`);
      dropDxgi();
      if (attempt === 0 && !tryOpen(screen)) return undefined;
    }
    return undefined;
  };

  return {
    get source() {
      return source;
    },
    prepare() {
      if (opts.dxgi !== false && !dxgi && Date.now() >= retryAt) source = tryOpen(virtualScreen()) ? 'dxgi' : 'gdi';
    },
    async grab(offered) {
      const screen = virtualScreen();
      // A caller that got the same frame twice may offer it back while still diffing against it.
      const recycle = offered && lastOut && sharesMemory(offered.data, lastOut.data) ? undefined : offered;
      if (opts.dxgi !== false) {
        const d = await grabDxgi(screen, recycle);
        if (d?.ok) {
          source = 'dxgi';
          return { ok: true, value: { frame: withPointer(d.value, screen, recycle), source } };
        }
      }
      source = 'gdi';
      const g = gdi.grab(recycle);
      return g.ok ? { ok: true, value: { frame: withPointer(g.value, screen, recycle), source } } : g;
    },
    reset() {
      dropDxgi();
      retryAt = 0;
    },
    close() {
      dropDxgi();
      gdi.close();
      pointer?.reader.close();
    },
  };
}
