/**
 * Pure decoding of a Windows cursor's bitmaps into the premultiplied ARGB image the frame overlay
 * draws (agent/frames/cursor-overlay.ts). Input is what GetDIBits hands out when asked for 32 bits
 * per pixel, top-down: BGRA bytes per pixel, rows packed; a 1-bit mask arrives as 0x000000 / 0xFFFFFF.
 *
 * Windows draws a cursor as `screen = (screen AND mask) XOR colour`, per pixel:
 *   AND 0, XOR 0 -> black; AND 0, XOR 1 -> white; AND 1, XOR 0 -> the screen (transparent);
 *   AND 1, XOR 1 -> the screen inverted.
 * An ARGB image cannot invert what is below it, so an inverting pixel becomes opaque black, and every
 * transparent pixel beside one becomes opaque white: the I-beam and other inverting cursors then show
 * as black with a white outline, visible on light and dark backgrounds alike (WebRTC's choice too).
 */
import type { CursorImage } from '../../frames/cursor-overlay.js';

/** A pointer image without its position: what one cursor handle looks like. */
export type CursorShape = Omit<CursorImage, 'x' | 'y'>;

const BLACK = 0xff000000;
const WHITE = 0xffffffff;
/** Marks an inverting pixel until the outline pass has seen it (alpha 0 keeps it out of the blend). */
const INVERT = 0x00ffffff;

const rgbAt = (px: Uint8Array, i: number) => px[i * 4]! | px[i * 4 + 1]! | px[i * 4 + 2]!;

/**
 * A monochrome cursor: `mask` is `width` x `2 * height` pixels, the AND mask on top, the XOR mask
 * below (GetIconInfo's hbmMask when hbmColor is NULL).
 */
export function shapeFromMonochrome(mask: Uint8Array, width: number, height: number, xhot: number, yhot: number): CursorShape {
  const n = width * height;
  const argb = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const and = rgbAt(mask, i) !== 0;
    const xor = rgbAt(mask, n + i) !== 0;
    argb[i] = and ? (xor ? INVERT : 0) : xor ? WHITE : BLACK;
  }
  outlineInverted(argb, width, height);
  return { xhot, yhot, width, height, argb };
}

/**
 * A colour cursor: `color` is its `width` x `height` BGRA pixels, `mask` the AND mask of the same
 * size. With any alpha in the colour bitmap, that alpha is the shape (straight alpha, as in .cur
 * files: premultiplied here) and the mask is ignored, as Windows does; without, the mask says which
 * pixels show, and masked pixels with a colour invert the screen.
 */
export function shapeFromColor(color: Uint8Array, mask: Uint8Array, width: number, height: number, xhot: number, yhot: number): CursorShape {
  const n = width * height;
  const argb = new Uint32Array(n);
  let hasAlpha = false;
  for (let i = 0; i < n && !hasAlpha; i++) hasAlpha = color[i * 4 + 3]! !== 0;
  for (let i = 0; i < n; i++) {
    const b = color[i * 4]!;
    const g = color[i * 4 + 1]!;
    const r = color[i * 4 + 2]!;
    if (hasAlpha) {
      const a = color[i * 4 + 3]!;
      argb[i] = ((a << 24) | (premultiply(r, a) << 16) | (premultiply(g, a) << 8) | premultiply(b, a)) >>> 0;
    } else if (rgbAt(mask, i) === 0) {
      argb[i] = (BLACK | (r << 16) | (g << 8) | b) >>> 0;
    } else {
      argb[i] = (r | g | b) === 0 ? 0 : INVERT;
    }
  }
  if (!hasAlpha) outlineInverted(argb, width, height);
  return { xhot, yhot, width, height, argb };
}

const premultiply = (c: number, a: number) => ((c * a + 127) / 255) | 0;

/** Inverting pixels become black; fully transparent 4-neighbours of them become white. */
function outlineInverted(argb: Uint32Array, width: number, height: number): void {
  const inverted = (x: number, y: number) => x >= 0 && y >= 0 && x < width && y < height && argb[y * width + x] === INVERT;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (argb[i] === 0 && (inverted(x - 1, y) || inverted(x + 1, y) || inverted(x, y - 1) || inverted(x, y + 1))) argb[i] = 1; // white, once the markers are gone
    }
  }
  for (let i = 0; i < argb.length; i++) {
    if (argb[i] === INVERT) argb[i] = BLACK;
    else if (argb[i] === 1) argb[i] = WHITE;
  }
}
