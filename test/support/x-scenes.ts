/**
 * Screen content for the live-view benches, drawn into an X display from a client of its own:
 * `square` (a 96 px square moving on a flat colour, the best case of tile diffing), `text` (a full
 * screen of anti-aliased monospace log lines scrolling one line per tick, as a terminal tailing a busy
 * log does) and `video` (a grainy colour texture panning diagonally: every pixel changes every tick,
 * the worst case). Each scene is rendered once into a server-side pixmap and shown by XCopyArea, so
 * a tick costs the scene one request and the X server one blit: the rate is set by the timer alone,
 * and the CPU measured is the capture's, not the scene's.
 */
import koffi from 'koffi';
import sharp from 'sharp';
import { type Xlib, ZPixmap, xlib } from '../../agent/platform/linux/x11/xlib.js';
import { startMovingSquare } from '../../infra/servers/moving-square.js';

export const SCENES = ['square', 'text', 'video'] as const;
export type SceneName = (typeof SCENES)[number];

export interface SceneOptions {
  width: number;
  height: number;
  /** Tick interval (default 16 ms, ~60 changes a second: faster than any capture rate, so every frame differs). */
  everyMs?: number;
}

export interface Scene {
  readonly name: SceneName;
  /** Stops changing the screen (the last image stays). */
  pause(): void;
  /** Stops and closes the scene's X connection. */
  stop(): void;
  /** Date.now() of each change drawn, most recent last (text and video; the square's are not recorded). */
  readonly changes: number[];
}

/** One line of text scrolled per tick: DejaVu Sans Mono 15 px on 18 px lines, 60 lines on a 1080 px screen. */
export const TEXT_LINE = 18;
/** Distinct lines before the text repeats (a loop of 2,160 px, two screens). */
const TEXT_LINES = 120;
/** The video texture pans over this many pixels before it repeats. */
const PAN = 240;

type Ptr = bigint;
let extra: ReturnType<typeof bindExtra> | undefined;
/** The few Xlib calls the agent never needs (pixmaps, uploads, blits), bound here for the scenes only. */
function bindExtra() {
  const x11 = koffi.load('libX11.so.6');
  return {
    XCreatePixmap: x11.func('unsigned long XCreatePixmap(void *dpy, unsigned long d, unsigned int w, unsigned int h, unsigned int depth)'),
    XFreePixmap: x11.func('int XFreePixmap(void *dpy, unsigned long p)'),
    XCopyArea: x11.func('int XCopyArea(void *dpy, unsigned long src, unsigned long dst, void *gc, int sx, int sy, unsigned int w, unsigned int h, int dx, int dy)'),
    XCreateImage: x11.func('void *XCreateImage(void *dpy, void *visual, unsigned int depth, int format, int offset, void *data, unsigned int w, unsigned int h, int pad, int bpl)'),
    XPutImage: x11.func('int XPutImage(void *dpy, unsigned long d, void *gc, void *img, int sx, int sy, int dx, int dy, unsigned int w, unsigned int h)'),
  };
}

/** Starts `name` on the X display `display` (":N"); the screen is fully drawn when this resolves. */
export async function startScene(name: SceneName, display: string, o: SceneOptions): Promise<Scene> {
  const x = xlib();
  if (!x.ok) throw new Error(x.reason);
  const l = x.lib;
  extra ??= bindExtra();
  const e = extra;
  const dpy = l.XOpenDisplay(display) as Ptr | null;
  if (!dpy) throw new Error(`cannot open X display ${display}`);
  const root = l.XDefaultRootWindow(dpy);
  const gc = l.XCreateGC(dpy, root, 0n, null);
  const everyMs = o.everyMs ?? 16;
  const changes: number[] = [];
  let timer: NodeJS.Timeout | undefined;
  let pixmap: bigint | undefined;
  const close = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
    if (pixmap !== undefined) e.XFreePixmap(dpy, pixmap);
    pixmap = undefined;
    l.XFreeGC(dpy, gc);
    l.XCloseDisplay(dpy);
  };
  try {
    if (name === 'square') {
      timer = startMovingSquare(l, dpy, root, gc, { width: o.width, height: o.height, box: 96, everyMs });
    } else {
      const img = name === 'text' ? await textImage(o.width, o.height) : videoTexture(o.width + PAN, o.height + PAN);
      pixmap = upload(l, e, dpy, root, gc, img);
      const pm = pixmap;
      let step = 0;
      const show = () => {
        const [sx, sy] = name === 'text' ? [0, (step * TEXT_LINE) % (TEXT_LINES * TEXT_LINE)] : [(step * 3) % PAN, (step * 2) % PAN];
        e.XCopyArea(dpy, pm, root, gc, sx, sy, o.width, o.height, 0, 0);
        l.XFlush(dpy);
        step++;
        changes.push(Date.now());
        // A bounded record: minutes of changes at 60 a second.
        if (changes.length > 20_000) changes.splice(0, 10_000);
      };
      show();
      l.XSync(dpy, 0);
      timer = setInterval(show, everyMs);
    }
  } catch (err) {
    close();
    throw err;
  }
  return {
    name,
    changes,
    pause() {
      if (timer) clearInterval(timer);
      timer = undefined;
      l.XSync(dpy, 0);
    },
    stop: close,
  };
}

interface Image {
  width: number;
  height: number;
  /** BGRX, tightly packed. */
  data: Buffer;
}

function upload(l: Xlib, e: ReturnType<typeof bindExtra>, dpy: Ptr, root: bigint, gc: unknown, img: Image): bigint {
  const visual = l.XDefaultVisual(dpy, l.XDefaultScreen(dpy));
  const pm = e.XCreatePixmap(dpy, root, img.width, img.height, 24) as bigint;
  const xi = e.XCreateImage(dpy, visual, 24, ZPixmap, 0, img.data, img.width, img.height, 32, img.width * 4);
  if (!xi) throw new Error('XCreateImage failed');
  // Xlib splits the upload into requests under the server's limit; the data stays ours (XFree frees the header only).
  e.XPutImage(dpy, pm, gc, xi, 0, 0, 0, 0, img.width, img.height);
  l.XSync(dpy, 0);
  l.XFree(xi);
  return pm;
}

/** A deterministic pseudo-random sequence (so every run scrolls the same text and pans the same grain). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const WORDS = ['viewer', 'frame', 'forwarded', 'session', 'switch', 'keyframe', 'tiles', 'bytes', 'agent', 'relay', 'epoch', 'quality', 'heartbeat', 'projection', 'checkpoint', 'stream'];
const LEVELS = [
  ['INFO ', '#6fbf73'],
  ['DEBUG', '#7f9fbf'],
  ['WARN ', '#e0b050'],
  ['ERROR', '#e06060'],
] as const;

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A log of TEXT_LINES lines, plus one screen of its first lines again so the scroll wraps seamlessly. */
async function textImage(width: number, height: number): Promise<Image> {
  const rnd = lcg(18);
  const lines: string[] = [];
  for (let i = 0; i < TEXT_LINES; i++) {
    const [level, colour] = LEVELS[Math.floor(rnd() * rnd() * LEVELS.length)]!;
    const words = Array.from({ length: 6 + Math.floor(rnd() * 22) }, () => {
      const w = WORDS[Math.floor(rnd() * WORDS.length)]!;
      return rnd() < 0.4 ? `${w}=${Math.floor(rnd() * 1e6).toString(rnd() < 0.5 ? 10 : 16)}` : w;
    });
    const ts = `2026-12-07 06:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}.${String(Math.floor(rnd() * 1000)).padStart(3, '0')}`;
    lines.push(`<tspan fill="#8a8a8a">${ts}</tspan> <tspan fill="${colour}">${level}</tspan> <tspan fill="#d4d4d4">[${xmlEscape(WORDS[i % WORDS.length]!)}] ${xmlEscape(words.join(' '))}</tspan>`);
  }
  const shown = TEXT_LINES + Math.ceil(height / TEXT_LINE);
  const h = shown * TEXT_LINE;
  const body = Array.from({ length: shown }, (_, i) => `<text x="8" y="${i * TEXT_LINE + 14}">${lines[i % TEXT_LINES]}</text>`).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h}"><rect width="100%" height="100%" fill="#1e1e1e"/><g font-family="DejaVu Sans Mono" font-size="15" xml:space="preserve">${body}</g></svg>`;
  const rgba = await sharp(Buffer.from(svg), { limitInputPixels: false }).ensureAlpha().raw().toBuffer();
  return { width, height: h, data: rgbaToBgrx(rgba) };
}

/** Smooth colour waves under per-pixel grain: changes everywhere when panned, and compresses like grainy video. */
function videoTexture(width: number, height: number): Image {
  const rnd = lcg(7);
  const data = Buffer.allocUnsafe(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      const g = () => (rnd() - 0.5) * 40;
      const r = 128 + 100 * Math.sin(x / 97 + Math.sin(y / 53));
      const gr = 128 + 100 * Math.sin(y / 71 + x / 193);
      const b = 128 + 100 * Math.cos((x + y) / 131);
      data[o] = clamp(b + g());
      data[o + 1] = clamp(gr + g());
      data[o + 2] = clamp(r + g());
      data[o + 3] = 255;
    }
  }
  return { width, height, data };
}

const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v | 0);

function rgbaToBgrx(rgba: Buffer): Buffer {
  for (let i = 0; i < rgba.length; i += 4) {
    const r = rgba[i]!;
    rgba[i] = rgba[i + 2]!;
    rgba[i + 2] = r;
    rgba[i + 3] = 255;
  }
  return rgba;
}
