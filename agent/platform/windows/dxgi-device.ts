/**
 * The Direct3D 11 side of DXGI capture: a device and its immediate context, and a reader that copies
 * a GPU texture into CPU memory through a staging texture (CopyResource, Map, rows out by RowPitch,
 * Unmap). d3d11.dll is loaded here on first use, not with the other DLLs: a machine without it
 * (Server Core variants, broken drivers) must still run every other part of the agent.
 * Vtable slots are those of d3d11.h; the methods of one device are called from one thread at a time.
 */
import koffi from 'koffi';
import { ErrorCode, type Result, err, ok } from '../../../proto/errors.js';
import type { RawFrame } from '../port.js';
import { comMethod, failed, hresultText, outPointer, release } from './com.js';
import { packRows } from './frame-copy.js';
import { nativeCopier } from './win32-api.js';

const D3D_DRIVER_TYPE_HARDWARE = 1;
const D3D11_CREATE_DEVICE_BGRA_SUPPORT = 0x20;
const D3D11_SDK_VERSION = 7;
export const D3D11_USAGE_DEFAULT = 0;
const D3D11_USAGE_STAGING = 3;
const D3D11_CPU_ACCESS_READ = 0x20000;
const D3D11_MAP_READ = 1;
export const DXGI_FORMAT_B8G8R8A8_UNORM = 87;
const DXGI_FORMAT_B8G8R8A8_UNORM_SRGB = 91;

// ID3D11Device: IUnknown 0-2, CreateBuffer 3, CreateTexture1D 4, CreateTexture2D 5.
const CreateTexture2D = comMethod(5, 'int32_t __stdcall GcD3D11DeviceCreateTexture2D(void *self, void *desc, void *initial, void *out)');
// ID3D11DeviceContext: IUnknown 0-2, ID3D11DeviceChild 3-6, ..., Map 14, Unmap 15, ..., CopyResource 47.
const MapSubresource = comMethod(14, 'int32_t __stdcall GcD3D11ContextMap(void *self, void *resource, uint32_t sub, int type, uint32_t flags, void *mapped)');
const UnmapSubresource = comMethod(15, 'void __stdcall GcD3D11ContextUnmap(void *self, void *resource, uint32_t sub)');
const CopyResource = comMethod(47, 'void __stdcall GcD3D11ContextCopyResource(void *self, void *dst, void *src)');
// ID3D11Texture2D: IUnknown 0-2, ID3D11DeviceChild 3-6, ID3D11Resource 7-9, GetDesc 10.
const TextureGetDesc = comMethod(10, 'void __stdcall GcD3D11Texture2DGetDesc(void *self, void *desc)');

type CreateDeviceFn = (...args: unknown[]) => number;
let createDevice: CreateDeviceFn | string | undefined;

function d3d11CreateDevice(): CreateDeviceFn | string {
  if (createDevice === undefined) {
    try {
      createDevice = koffi
        .load('d3d11.dll')
        .func(
          'int32_t __stdcall D3D11CreateDevice(void *adapter, int driverType, void *software, uint32_t flags, void *levels, uint32_t numLevels, uint32_t sdk, void *device, void *level, void *context)',
        ) as CreateDeviceFn;
    } catch (e) {
      createDevice = `d3d11.dll cannot be loaded (${(e as Error).message})`;
    }
  }
  return createDevice;
}

export interface D3DDevice {
  device: bigint;
  context: bigint;
  /** D3D_FEATURE_LEVEL, e.g. 0xb000 for 11_0. */
  featureLevel: number;
  release(): void;
}

/** A hardware D3D11 device with BGRA support on the default adapter (the one the primary monitor is on). */
export function createD3DDevice(): Result<D3DDevice> {
  const fn = d3d11CreateDevice();
  if (typeof fn === 'string') return err(ErrorCode.NOT_AVAILABLE, fn);
  const dev = Buffer.alloc(8);
  const level = Buffer.alloc(4);
  const ctx = Buffer.alloc(8);
  const hr = fn(null, D3D_DRIVER_TYPE_HARDWARE, null, D3D11_CREATE_DEVICE_BGRA_SUPPORT, null, 0, D3D11_SDK_VERSION, dev, level, ctx);
  if (failed(hr)) return err(ErrorCode.NOT_AVAILABLE, `D3D11CreateDevice failed (${hresultText(hr)})`);
  const device = outPointer(dev);
  const context = outPointer(ctx);
  return ok({
    device,
    context,
    featureLevel: level.readUInt32LE(0),
    release() {
      release(context);
      release(device);
    },
  });
}

/** D3D11_TEXTURE2D_DESC (44 bytes): Width @0, Height @4, MipLevels @8, ArraySize @12, Format @16, SampleDesc @20, Usage @28, BindFlags @32, CPUAccessFlags @36, MiscFlags @40. */
export function textureDesc(width: number, height: number, format: number, usage: number, cpuAccess: number): Buffer {
  const d = Buffer.alloc(44);
  d.writeUInt32LE(width, 0);
  d.writeUInt32LE(height, 4);
  d.writeUInt32LE(1, 8);
  d.writeUInt32LE(1, 12);
  d.writeUInt32LE(format, 16);
  d.writeUInt32LE(1, 20); // one sample, quality 0
  d.writeUInt32LE(usage, 28);
  d.writeUInt32LE(cpuAccess, 36);
  return d;
}

/** A texture of `desc` (textureDesc) on `d`, filled from `init` (a D3D11_SUBRESOURCE_DATA) when given. */
export function createTexture2D(d: D3DDevice, desc: Buffer, init: Buffer | null): Result<bigint> {
  const out = Buffer.alloc(8);
  const hr = CreateTexture2D(d.device, desc, init, out) as number;
  return failed(hr) ? err(ErrorCode.PLATFORM_ERROR, `CreateTexture2D failed (${hresultText(hr)})`) : ok(outPointer(out));
}

export interface TextureReader {
  /** The texture's pixels as a frame (rows packed), in `recycle`'s buffer when its size fits, else a new one. */
  read(texture: bigint, recycle?: RawFrame): Result<RawFrame>;
  close(): void;
}

/** Reads textures of one device back to the CPU, keeping one staging texture per size. */
export function createTextureReader(d: D3DDevice): TextureReader {
  let staging = 0n;
  let size = { width: 0, height: 0, format: 0 };
  const desc = Buffer.alloc(44);
  const mapped = Buffer.alloc(16);
  return {
    read(texture, recycle) {
      TextureGetDesc(texture, desc);
      const width = desc.readUInt32LE(0);
      const height = desc.readUInt32LE(4);
      const format = desc.readUInt32LE(16);
      if (format !== DXGI_FORMAT_B8G8R8A8_UNORM && format !== DXGI_FORMAT_B8G8R8A8_UNORM_SRGB) {
        return err(ErrorCode.NOT_AVAILABLE, `the desktop texture has DXGI format ${format}, not B8G8R8A8`);
      }
      if (!staging || size.width !== width || size.height !== height || size.format !== format) {
        release(staging);
        staging = 0n;
        const t = createTexture2D(d, textureDesc(width, height, format, D3D11_USAGE_STAGING, D3D11_CPU_ACCESS_READ), null);
        if (!t.ok) return err(t.error.code, `staging texture: ${t.error.message}`);
        staging = t.value;
        size = { width, height, format };
      }
      CopyResource(d.context, staging, texture);
      const hr = MapSubresource(d.context, staging, 0, D3D11_MAP_READ, 0, mapped) as number;
      if (failed(hr)) return err(ErrorCode.PLATFORM_ERROR, `ID3D11DeviceContext::Map failed (${hresultText(hr)})`);
      try {
        // D3D11_MAPPED_SUBRESOURCE: pData @0, RowPitch @8, DepthPitch @12. RowPitch may exceed width * 4.
        return packMapped(mapped.readBigUInt64LE(0), mapped.readUInt32LE(8), width, height, recycle);
      } finally {
        UnmapSubresource(d.context, staging, 0);
      }
    },
    close() {
      release(staging);
      staging = 0n;
    },
  };
}

/**
 * Copies `height` rows of `width` BGRA pixels at native `ptr`, `pitch` bytes apart, into a packed
 * frame: into `recycle`'s buffer when its size fits. `ptr` is valid only while mapped: the frame
 * never refers to it.
 */
export function packMapped(ptr: bigint, pitch: number, width: number, height: number, recycle?: RawFrame): Result<RawFrame> {
  if (ptr === 0n) return err(ErrorCode.PLATFORM_ERROR, 'the mapped surface has no address');
  return packRows(nativeCopier(ptr), pitch, width, height, recycle);
}
