/** GPU textures with known pixels, for tests of the D3D11 readback path (agent/platform/windows/dxgi-device.ts). */
import koffi from 'koffi';
import type { Result } from '../../../proto/errors.js';
import { type D3DDevice, D3D11_USAGE_DEFAULT, DXGI_FORMAT_B8G8R8A8_UNORM, createTexture2D, textureDesc } from '../../../agent/platform/windows/dxgi-device.js';

/** A texture of `width` x `height` BGRA pixels filled from `pixels` (rows packed). `pixels` must outlive the call only. */
export function createBgraTexture(d: D3DDevice, width: number, height: number, pixels: Buffer): Result<bigint> {
  // D3D11_SUBRESOURCE_DATA (16 bytes): pSysMem @0, SysMemPitch @8, SysMemSlicePitch @12.
  const init = Buffer.alloc(16);
  init.writeBigUInt64LE(koffi.address(pixels), 0);
  init.writeUInt32LE(width * 4, 8);
  return createTexture2D(d, textureDesc(width, height, DXGI_FORMAT_B8G8R8A8_UNORM, D3D11_USAGE_DEFAULT, 0), init);
}
