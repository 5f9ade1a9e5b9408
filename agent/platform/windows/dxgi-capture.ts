/**
 * DXGI desktop duplication of the monitor this process's desktop shows: D3D11 device -> IDXGIDevice
 * -> IDXGIAdapter -> EnumOutputs -> IDXGIOutput1 -> DuplicateOutput; per grab AcquireNextFrame ->
 * the desktop texture -> CPU (dxgi-device.ts) -> ReleaseFrame. The GPU composes the image and reports
 * when nothing changed, so an idle screen costs almost nothing (GDI copies the whole screen each time).
 *
 * Only a single-monitor desktop is duplicated (the output must be the whole virtual screen, so
 * coordinates match SendInput's); several monitors are left to GDI, which captures them all.
 * AcquireNextFrame waits on a koffi worker thread; everything else runs on the calling thread, which
 * must be on the input desktop when the duplication is made (DuplicateOutput checks it).
 */
import { ErrorCode, type GcError, type Result, err, ok } from '../../../proto/errors.js';
import type { RawFrame } from '../port.js';
import { comMethod, failed, guid, hresultText, outPointer, queryInterface, release } from './com.js';
import { createD3DDevice, createTextureReader, type D3DDevice, packMapped } from './dxgi-device.js';
import type { ScreenRect } from './gdi-capture.js';

const DXGI_ERROR_NOT_FOUND = 0x887a0002 | 0;
export const DXGI_ERROR_ACCESS_LOST = 0x887a0026 | 0;
export const DXGI_ERROR_WAIT_TIMEOUT = 0x887a0027 | 0;
const DXGI_MODE_ROTATION_UNSPECIFIED = 0;
const DXGI_MODE_ROTATION_IDENTITY = 1;

const IID_IDXGIDevice = guid('{54ec77fa-1377-44e6-8c32-88fd5f44c84c}');
const IID_IDXGIOutput1 = guid('{00cddea8-939b-4b83-a340-a685226666cc}');
const IID_ID3D11Texture2D = guid('{6f15aaf2-d208-4e89-9ab4-489535d34f9c}');

// IDXGIObject: IUnknown 0-2, SetPrivateData 3, SetPrivateDataInterface 4, GetPrivateData 5, GetParent 6.
const DeviceGetAdapter = comMethod(7, 'int32_t __stdcall GcIDXGIDeviceGetAdapter(void *self, void *out)');
const AdapterEnumOutputs = comMethod(7, 'int32_t __stdcall GcIDXGIAdapterEnumOutputs(void *self, uint32_t index, void *out)');
const OutputGetDesc = comMethod(7, 'int32_t __stdcall GcIDXGIOutputGetDesc(void *self, void *desc)');
// IDXGIOutput1 after IDXGIOutput's 7-18: GetDisplayModeList1 19, FindClosestMatchingMode1 20, GetDisplaySurfaceData1 21, DuplicateOutput 22.
const DuplicateOutput = comMethod(22, 'int32_t __stdcall GcIDXGIOutput1DuplicateOutput(void *self, void *device, void *out)');
// IDXGIOutputDuplication: GetDesc 7, AcquireNextFrame 8, GetFrameDirtyRects 9, GetFrameMoveRects 10,
// GetFramePointerShape 11, MapDesktopSurface 12, UnMapDesktopSurface 13, ReleaseFrame 14.
const DuplGetDesc = comMethod(7, 'void __stdcall GcIDXGIOutputDuplicationGetDesc(void *self, void *desc)');
const AcquireNextFrame = comMethod(8, 'int32_t __stdcall GcIDXGIOutputDuplicationAcquireNextFrame(void *self, uint32_t ms, void *info, void *resource)');
const MapDesktopSurface = comMethod(12, 'int32_t __stdcall GcIDXGIOutputDuplicationMapDesktopSurface(void *self, void *rect)');
const UnMapDesktopSurface = comMethod(13, 'int32_t __stdcall GcIDXGIOutputDuplicationUnMapDesktopSurface(void *self)');
const ReleaseFrame = comMethod(14, 'int32_t __stdcall GcIDXGIOutputDuplicationReleaseFrame(void *self)');

/** A grab's outcome; `lost` asks the caller to drop this grabber and open a new one (desktop switch, mode change, ...). */
export type DxgiGrab = { ok: true; value: RawFrame } | { ok: false; error: GcError; lost: boolean };

export interface DxgiGrabber {
  /** The output duplicated, e.g. "\\.\DISPLAY1 1920x1080". */
  readonly description: string;
  /**
   * The screen, or the previous frame (same object) when nothing changed. A new picture goes into
   * `recycle`'s buffer when its size fits; `recycle` is left alone otherwise.
   */
  grab(recycle?: RawFrame): Promise<DxgiGrab>;
  close(): void;
}

export interface DxgiOptions {
  /** How long a grab waits for a new frame when there is a previous one to fall back on (default 10 ms). */
  waitMs?: number;
  /** How long the first grab waits for the first frame (default 500 ms). */
  firstWaitMs?: number;
}

interface OutputInfo {
  name: string;
  rect: ScreenRect;
  rotation: number;
}

/** DXGI_OUTPUT_DESC (96 bytes): DeviceName WCHAR[32] @0; DesktopCoordinates RECT @64; AttachedToDesktop @80; Rotation @84; Monitor @88. */
function outputInfo(output: bigint): OutputInfo | undefined {
  const d = Buffer.alloc(96);
  if (failed(OutputGetDesc(output, d) as number)) return undefined;
  const name = d.toString('utf16le', 0, 64).replace(/\0.*$/s, '');
  const [l, t, r, b] = [d.readInt32LE(64), d.readInt32LE(68), d.readInt32LE(72), d.readInt32LE(76)];
  return { name, rect: { x: l, y: t, width: r - l, height: b - t }, rotation: d.readUInt32LE(84) };
}

const sameRect = (a: ScreenRect, b: ScreenRect) => a.x === b.x && a.y === b.y && a.width === b.width && a.height === b.height;

/** Finds the adapter's output that is the whole virtual screen; the reason in the error otherwise. */
function findOutput(adapter: bigint, screen: ScreenRect): Result<{ output: bigint; info: OutputInfo }> {
  const seen: OutputInfo[] = [];
  for (let i = 0; ; i++) {
    const out = Buffer.alloc(8);
    const hr = AdapterEnumOutputs(adapter, i, out) as number;
    if (hr === DXGI_ERROR_NOT_FOUND) break;
    if (failed(hr)) return err(ErrorCode.NOT_AVAILABLE, `IDXGIAdapter::EnumOutputs(${i}) failed (${hresultText(hr)})`);
    const output = outPointer(out);
    const info = outputInfo(output);
    if (info && sameRect(info.rect, screen)) {
      if (info.rotation !== DXGI_MODE_ROTATION_IDENTITY && info.rotation !== DXGI_MODE_ROTATION_UNSPECIFIED) {
        release(output);
        return err(ErrorCode.NOT_AVAILABLE, `${info.name} is rotated (DXGI rotation ${info.rotation}); GDI delivers it upright`);
      }
      return ok({ output, info });
    }
    if (info) seen.push(info);
    release(output);
  }
  const list = seen.map((o) => `${o.name} ${o.rect.width}x${o.rect.height}@${o.rect.x},${o.rect.y}`).join(', ') || 'none';
  return err(ErrorCode.NOT_AVAILABLE, `no single output of the default adapter is the whole screen ${screen.width}x${screen.height}@${screen.x},${screen.y} (outputs: ${list})`);
}

/**
 * Duplicates the output that shows `screen` (the virtual screen of the calling thread's desktop).
 * The error says which step failed and its HRESULT, for the caller to log once before using GDI.
 */
export function openDxgiGrabber(screen: ScreenRect, opts: DxgiOptions = {}): Result<DxgiGrabber> {
  const dev = createD3DDevice();
  if (!dev.ok) return dev;
  const d = dev.value;
  const held: bigint[] = [];
  const fail = (what: string, hr: number): Result<never> => {
    for (const p of held.reverse()) release(p);
    d.release();
    return err(ErrorCode.NOT_AVAILABLE, `${what} failed (${hresultText(hr)})`);
  };
  const dxgiDevice = queryInterface(d.device, IID_IDXGIDevice);
  if (failed(dxgiDevice.hr)) return fail('QueryInterface(IDXGIDevice)', dxgiDevice.hr);
  held.push(dxgiDevice.ptr);
  const ad = Buffer.alloc(8);
  const hrAd = DeviceGetAdapter(dxgiDevice.ptr, ad) as number;
  if (failed(hrAd)) return fail('IDXGIDevice::GetAdapter', hrAd);
  held.push(outPointer(ad));
  const found = findOutput(outPointer(ad), screen);
  if (!found.ok) {
    for (const p of held.reverse()) release(p);
    d.release();
    return found;
  }
  held.push(found.value.output);
  const output1 = queryInterface(found.value.output, IID_IDXGIOutput1);
  if (failed(output1.hr)) return fail('QueryInterface(IDXGIOutput1)', output1.hr);
  held.push(output1.ptr);
  const du = Buffer.alloc(8);
  const hrDup = DuplicateOutput(output1.ptr, d.device, du) as number;
  if (failed(hrDup)) return fail(`IDXGIOutput1::DuplicateOutput on ${found.value.info.name}`, hrDup);
  for (const p of held.reverse()) release(p);
  return ok(duplicationGrabber(d, outPointer(du), found.value.info, opts));
}

function duplicationGrabber(d: D3DDevice, dupl: bigint, info: OutputInfo, opts: DxgiOptions): DxgiGrabber {
  const reader = createTextureReader(d);
  // DXGI_OUTDUPL_DESC (36 bytes): ModeDesc @0 (28), Rotation @28, DesktopImageInSystemMemory @32.
  const desc = Buffer.alloc(36);
  DuplGetDesc(dupl, desc);
  const inSystemMemory = desc.readUInt32LE(32) !== 0;
  let last: RawFrame | undefined;
  let closed = false;
  let busy = false;
  const frameInfo = Buffer.alloc(48);
  const res = Buffer.alloc(8);

  /** Copies the acquired frame out; the caller releases it. */
  const copyFrame = (resource: bigint, recycle: RawFrame | undefined): Result<RawFrame> => {
    if (inSystemMemory) {
      // DXGI_MAPPED_RECT (16 bytes): Pitch @0, pBits @8. The desktop image is already in RAM: no GPU copy.
      const rect = Buffer.alloc(16);
      const hr = MapDesktopSurface(dupl, rect) as number;
      if (!failed(hr)) {
        try {
          return packMapped(rect.readBigUInt64LE(8), rect.readInt32LE(0), info.rect.width, info.rect.height, recycle);
        } finally {
          UnMapDesktopSurface(dupl);
        }
      }
    }
    const tex = queryInterface(resource, IID_ID3D11Texture2D);
    if (failed(tex.hr)) return err(ErrorCode.PLATFORM_ERROR, `QueryInterface(ID3D11Texture2D) failed (${hresultText(tex.hr)})`);
    try {
      return reader.read(tex.ptr, recycle);
    } finally {
      release(tex.ptr);
    }
  };

  return {
    description: `${info.name} ${info.rect.width}x${info.rect.height}`,
    async grab(recycle): Promise<DxgiGrab> {
      if (closed) return { ok: false, error: { code: ErrorCode.NOT_AVAILABLE, message: 'the DXGI grabber is closed' }, lost: true };
      if (busy) return last ? { ok: true, value: last } : { ok: false, error: { code: ErrorCode.NOT_AVAILABLE, message: 'a grab is in progress' }, lost: false };
      busy = true;
      try {
        const hr = (await AcquireNextFrame.async(dupl, last ? (opts.waitMs ?? 10) : (opts.firstWaitMs ?? 500), frameInfo, res)) as number;
        if (closed) {
          if (!failed(hr)) ReleaseFrame(dupl);
          return { ok: false, error: { code: ErrorCode.NOT_AVAILABLE, message: 'the DXGI grabber is closed' }, lost: true };
        }
        if (hr === DXGI_ERROR_WAIT_TIMEOUT) {
          // Nothing new on screen: the previous frame is still the picture.
          if (last) return { ok: true, value: last };
          return { ok: false, error: { code: ErrorCode.NOT_AVAILABLE, message: 'DXGI delivered no first frame in time' }, lost: false };
        }
        if (failed(hr)) {
          const why = hr === DXGI_ERROR_ACCESS_LOST ? 'access lost (desktop switch, mode change or full-screen app)' : 'failed';
          return { ok: false, error: { code: ErrorCode.NOT_AVAILABLE, message: `AcquireNextFrame ${why} (${hresultText(hr)})` }, lost: true };
        }
        const resource = outPointer(res);
        try {
          // DXGI_OUTDUPL_FRAME_INFO: LastPresentTime @0 is 0 when only the pointer moved.
          if (last && frameInfo.readBigInt64LE(0) === 0n) return { ok: true, value: last };
          const frame = copyFrame(resource, recycle);
          if (!frame.ok) return { ...frame, lost: true };
          last = frame.value;
          return frame;
        } finally {
          release(resource);
          ReleaseFrame(dupl);
        }
      } finally {
        busy = false;
      }
    },
    close() {
      if (closed) return;
      closed = true;
      // A grab waiting on the worker thread still uses the duplication: release after it returns.
      const free = () => {
        reader.close();
        release(dupl);
        d.release();
      };
      if (!busy) free();
      else void waitIdle().then(free);
    },
  };

  async function waitIdle(): Promise<void> {
    while (busy) await new Promise((r) => setTimeout(r, 5));
  }
}
