/**
 * Tile encoding. Measured on this 2-core box (1920x1080, 64 px tiles merged into runs of up to 512 px,
 * see the capture bench): JPEG is the default: it encodes a full-screen keyframe fastest of the lossy
 * codecs, is a fraction of the size of deflated raw pixels on photos and gradients, and every browser
 * decodes it natively (createImageBitmap). JPEG goes through TurboJPEG straight from the BGRX frame
 * when libturbojpeg is installed (turbo-jpeg.ts: 10-30x less time per tile), else through sharp.
 * WebP is smaller but several times slower to encode; raw BGRA + deflate is lossless and fast on flat
 * UI but large on anything photographic — kept for callers that need exact pixels.
 */
import { zlib } from '../lazy-builtins.js';
import type sharpType from 'sharp';
import { guruconnect } from '../../proto/generated/guruconnect.js';
import type { RawFrame } from '../platform/port.js';
import type { Rect } from './tiles.js';
import { turboJpeg } from './turbo-jpeg.js';

export type Tile = guruconnect.Tile.$Properties;
export const TileEncoding = guruconnect.TileEncoding;
export type TileEncoding = guruconnect.TileEncoding;

let sharpModule: Promise<typeof sharpType | undefined> | undefined;
/**
 * sharp (and libvips, ~40 MiB resident) loads on the first tile that needs it, not at the agent's
 * start: most agents never capture. The single-file binary does not carry it at all: there JPEG
 * tiles need libturbojpeg, and without it tiles go out lossless (raw BGRA + deflate), which every
 * viewer paints too.
 */
function loadSharp(): Promise<typeof sharpType | undefined> {
  sharpModule ??= import('sharp').then(
    (m) => {
      // One thread per core: the capture loop runs several tile encodes at once.
      m.default.concurrency(1);
      return m.default;
    },
    () => undefined,
  );
  return sharpModule;
}

/** Copies `rect` out of a BGRX frame, tightly packed, as RGBA or BGRA (alpha forced to 255). */
export function extractPixels(frame: RawFrame, rect: Rect, order: 'rgba' | 'bgra' = 'rgba'): Buffer {
  const out = Buffer.allocUnsafe(rect.width * rect.height * 4);
  const src = new Uint32Array(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength >>> 2);
  const dst = new Uint32Array(out.buffer, out.byteOffset, out.byteLength >>> 2);
  const strideWords = frame.stride >>> 2;
  const swap = order === 'rgba';
  let d = 0;
  for (let y = rect.y; y < rect.y + rect.height; y++) {
    let s = y * strideWords + rect.x;
    for (let x = 0; x < rect.width; x++, s++, d++) {
      const v = src[s]!;
      // Little-endian words: BGRX in memory is 0xXXRRGGBB; RGBA in memory is 0xAABBGGRR.
      dst[d] = swap ? (0xff000000 | ((v & 0xff) << 16) | (v & 0xff00) | ((v >>> 16) & 0xff)) >>> 0 : (v | 0xff000000) >>> 0;
    }
  }
  return out;
}

/** Encodes one rectangle of `frame`; `quality` 1..100 applies to the lossy codecs. */
export async function encodeTile(frame: RawFrame, rect: Rect, encoding: TileEncoding, quality: number): Promise<Tile> {
  const q = Math.max(1, Math.min(100, Math.round(quality)));
  const turbo = encoding === TileEncoding.TILE_JPEG ? turboJpeg() : undefined;
  // Neither TurboJPEG nor sharp (the single-file binary on a host without libturbojpeg): lossless tiles.
  const enc = turbo || encoding === TileEncoding.TILE_RAW_BGRA || (await loadSharp()) ? encoding : TileEncoding.TILE_RAW_BGRA;
  const data = turbo ? await turbo.encode(frame, rect, q) : await encodePortable(frame, rect, enc, q);
  return { x: rect.x, y: rect.y, width: rect.width, height: rect.height, encoding: enc, data };
}

/** Every codec without native help: sharp for the image formats, zlib for raw pixels. */
export async function encodePortable(frame: RawFrame, rect: Rect, encoding: TileEncoding, q: number): Promise<Buffer> {
  // Raw DEFLATE (no zlib header) of width*height*4 bytes in B G R A order, alpha 255.
  if (encoding === TileEncoding.TILE_RAW_BGRA) return zlib().deflateRawSync(extractPixels(frame, rect, 'bgra'), { level: 1 });
  const sharp = await loadSharp();
  if (!sharp) throw new Error('sharp is not available to this agent');
  const img = sharp(extractPixels(frame, rect, 'rgba'), { raw: { width: rect.width, height: rect.height, channels: 4 } });
  if (encoding === TileEncoding.TILE_WEBP) return img.webp({ quality: q, effort: 0 }).toBuffer();
  if (encoding === TileEncoding.TILE_PNG) return img.png({ compressionLevel: 1 }).toBuffer();
  return img
    .removeAlpha()
    .jpeg({ quality: q, chromaSubsampling: q >= 90 ? '4:4:4' : '4:2:0' })
    .toBuffer();
}

/** Encodes all rectangles, a few at a time so sharp's pool stays busy without piling up work. */
export async function encodeTiles(frame: RawFrame, rects: Rect[], encoding: TileEncoding, quality: number): Promise<Tile[]> {
  return Promise.all(rects.map((r) => encodeTile(frame, r, encoding, quality)));
}
