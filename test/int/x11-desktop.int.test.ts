import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { startCaptureLoop, type VideoFrame } from '../../agent/frames/capture-loop.js';
import { openX11Desktop, type X11Desktop } from '../../agent/platform/linux/x11/desktop.js';
import { createGrabber } from '../../agent/platform/linux/x11/grabber.js';
import { surviveIoErrors, xlib } from '../../agent/platform/linux/x11/xlib.js';
import { startUserDisplays, type UserDisplay } from '../../infra/servers/x-displays.js';

let stopDisplays: () => Promise<void>;
let displays: UserDisplay[] = [];
const desks: X11Desktop[] = [];
const x = () => {
  const l = xlib();
  assert.ok(l.ok);
  return l.lib;
};
/** A separate test connection per display, as another client on the same desktop would be. */
const probes: bigint[] = [];

const onDisplay = (d: UserDisplay, ...args: string[]) => execFileSync('xdotool', args, { env: { ...process.env, DISPLAY: d.name }, encoding: 'utf8' });
const mouseAt = (d: UserDisplay) =>
  onDisplay(d, 'getmouselocation')
    .match(/x:(\d+) y:(\d+)/)!
    .slice(1)
    .map(Number);

before(async () => {
  const started = await startUserDisplays(['gc-alice', 'gc-bob']);
  stopDisplays = started.stop;
  displays = started.displays;
  for (const [i, d] of displays.entries()) {
    const r = await openX11Desktop({ sessionId: i + 1, display: d.name, uid: d.uid, user: d.user });
    assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
    desks.push(r.value);
    probes.push(x().XOpenDisplay(d.name) as bigint);
    // Painted after our connections exist: Xvfb resets (and forgets the colour) when its last client leaves.
    execFileSync('xsetroot', ['-solid', ['#ff0000', '#0000ff'][i]!], { env: { ...process.env, DISPLAY: d.name } });
  }
});

after(async () => {
  for (const d of desks) d.close();
  for (const p of probes) x().XCloseDisplay(p);
  await stopDisplays?.();
});

test('each desktop grabs its own display: A red, B blue (BGRX bytes)', async () => {
  const [a, b] = await Promise.all(desks.map((d) => d.grab()));
  assert.ok(a?.ok && b?.ok);
  assert.deepEqual([a.value.width, a.value.height], [1024, 768]);
  assert.ok(a.value.stride >= 1024 * 4);
  const px = (f: typeof a.value, x: number, y: number) => [...f.data.subarray(y * f.stride + x * 4, y * f.stride + x * 4 + 3)];
  assert.deepEqual(px(a.value, 500, 400), [0, 0, 255]);
  assert.deepEqual(px(b.value, 500, 400), [255, 0, 0]);
  // The segment is handed to the display owner's uid, so MIT-SHM works across users.
  assert.equal(desks[0]!.usesShm, true);
  assert.equal(desks[1]!.usesShm, true);
});

test('a grab given a frame the caller is done with fills that buffer; a frame of another size is not reused', async () => {
  const first = await desks[1]!.grab();
  assert.ok(first.ok);
  const old = first.value.data;
  old.fill(0x11); // stale pixels that the next grab must overwrite
  const second = await desks[1]!.grab(first.value);
  assert.ok(second.ok);
  assert.equal(second.value.data, old, 'same buffer, no new allocation');
  const o = 400 * second.value.stride + 500 * 4;
  assert.deepEqual([...second.value.data.subarray(o, o + 3)], [255, 0, 0], 'fresh pixels (blue, BGRX)');
  const small = { width: 2, height: 2, stride: 8, data: new Uint8Array(16) };
  const third = await desks[1]!.grab(small);
  assert.ok(third.ok);
  assert.notEqual(third.value.data, small.data);
  assert.equal(third.value.data.byteLength, third.value.stride * 768);
});

test('grabs read the segment through one view made once: fresh pixels every grab, no frame-sized external memory per grab', async () => {
  const d = displays[1]!;
  const first = await desks[1]!.grab();
  assert.ok(first.ok);
  const frameBytes = first.value.data.byteLength;
  let frame = first.value;
  const external0 = process.memoryUsage().external;
  // A view per grab was a frame-sized external ArrayBuffer each time, freed only by a collection.
  for (let i = 0; i < 12; i++) {
    const r = await desks[1]!.grab(frame);
    assert.ok(r.ok);
    frame = r.value;
  }
  const grown = process.memoryUsage().external - external0;
  assert.ok(grown < frameBytes, `external memory grew by ${grown} bytes over 12 grabs (a frame is ${frameBytes})`);
  execFileSync('xsetroot', ['-solid', '#00ff00'], { env: { ...process.env, DISPLAY: d.name } });
  const green = await desks[1]!.grab(frame);
  assert.ok(green.ok);
  const o = 400 * green.value.stride + 500 * 4;
  assert.deepEqual([...green.value.data.subarray(o, o + 3)], [0, 255, 0], 'the new colour, read through the same view');
  execFileSync('xsetroot', ['-solid', '#0000ff'], { env: { ...process.env, DISPLAY: d.name } });
  const blue = await desks[1]!.grab(green.value);
  assert.ok(blue.ok);
  assert.deepEqual([...blue.value.data.subarray(o, o + 3)], [255, 0, 0], 'and back (BGRX)');
});

test('a grab reads the root size alongside the image and grabs again when it no longer matches the segment', async () => {
  const l = x();
  const d = displays[0]!;
  const dpy = l.XOpenDisplay(d.name) as bigint;
  surviveIoErrors(l, dpy);
  let reported: { width: number; height: number } | undefined = { width: 1024, height: 768 };
  let asked = 0;
  const g = createGrabber(l, dpy, d.uid, {
    rootSize: () => {
      asked++;
      return reported;
    },
  });
  try {
    let meanwhile = 0;
    const first = await g.grab(undefined, () => meanwhile++);
    assert.ok(first.ok);
    assert.equal(asked, 0, 'no segment yet: the size is read before the image, on the grab connection');
    const second = await g.grab(first.value, () => meanwhile++);
    assert.ok(second.ok);
    assert.equal(asked, 1, 'read alongside the image');
    assert.equal(meanwhile, 2, 'meanwhile runs once a grab');
    // A root that (says it) changed size: the image read at the old size is not returned; the grab
    // reads the size again on its own connection (still 1024x768) and grabs once more.
    reported = { width: 800, height: 600 };
    const third = await g.grab(second.value, () => meanwhile++);
    assert.ok(third.ok);
    assert.deepEqual([third.value.width, third.value.height], [1024, 768]);
    assert.equal(meanwhile, 3);
    reported = undefined;
    const fourth = await g.grab(third.value);
    assert.ok(fourth.ok, 'an unreadable size on the other connection falls back to the grab connection');
    const o = 400 * fourth.value.stride + 500 * 4;
    assert.deepEqual([...fourth.value.data.subarray(o, o + 3)], [0, 0, 255], 'red, as drawn');
    // meanwhile throwing: the image read still ends before the grab returns, and the next grab works.
    await assert.rejects(
      g.grab(fourth.value, () => {
        throw new Error('pointer read failed');
      }),
      /pointer read failed/,
    );
    reported = { width: 1024, height: 768 };
    const after = await g.grab();
    assert.ok(after.ok, JSON.stringify(!after.ok && after.error));
  } finally {
    g.close();
  }
});

test('frames show the pointer where it is, and only there', async () => {
  const d = displays[0]!;
  /** Pixels (BGR) of a 24x24 square around (x, y) that are not the display's red. */
  const notRed = (f: { data: Uint8Array; stride: number }, x: number, y: number) => {
    let n = 0;
    for (let yy = y - 12; yy < y + 12; yy++) {
      for (let xx = x - 12; xx < x + 12; xx++) {
        const o = yy * f.stride + xx * 4;
        if (f.data[o] !== 0 || f.data[o + 1] !== 0 || f.data[o + 2] !== 255) n++;
      }
    }
    return n;
  };
  onDisplay(d, 'mousemove', '200', '200');
  const at = await desks[0]!.grab();
  assert.ok(at.ok);
  assert.ok(notRed(at.value, 200, 200) > 10, 'the pointer is drawn at 200,200');
  assert.equal(notRed(at.value, 600, 600), 0);
  onDisplay(d, 'mousemove', '600', '600');
  const moved = await desks[0]!.grab();
  assert.ok(moved.ok);
  assert.equal(notRed(moved.value, 200, 200), 0, 'gone from where it was');
  assert.ok(notRed(moved.value, 600, 600) > 10, 'drawn where it went');
});

test('mouse input reaches only the desktop it was sent to', () => {
  const [da, db] = displays as [UserDisplay, UserDisplay];
  const bBefore = mouseAt(db);
  assert.ok(desks[0]!.mouse({ x: 123, y: 45, buttons: 0 }).ok);
  assert.deepEqual(mouseAt(da), [123, 45]);
  assert.deepEqual(mouseAt(db), bBefore);
  assert.ok(desks[1]!.mouse({ x: 321, y: 54, buttons: 1 }).ok);
  assert.ok(desks[1]!.mouse({ x: 321, y: 54, buttons: 0, wheel: -120 }).ok);
  assert.deepEqual(mouseAt(db), [321, 54]);
  assert.deepEqual(mouseAt(da), [123, 45]);
});

test('a key held down on A is down on A only', () => {
  const l = x();
  const XK_a = 0x61;
  const kcA = l.XKeysymToKeycode(probes[0]!, XK_a) as number;
  const isDown = (i: number) => {
    const keys = Buffer.alloc(32);
    l.XQueryKeymap(probes[i]!, keys);
    return (keys[kcA >> 3]! & (1 << (kcA & 7))) !== 0;
  };
  assert.ok(desks[0]!.key({ keyCode: XK_a, down: true }).ok);
  l.XSync(probes[0]!, 0);
  assert.equal(isDown(0), true);
  assert.equal(isDown(1), false);
  assert.ok(desks[0]!.key({ keyCode: XK_a, down: false }).ok);
  l.XSync(probes[0]!, 0);
  assert.equal(isDown(0), false);
  assert.ok(desks[0]!.key({ text: 'Hi there\n' }).ok);
  const odd = desks[0]!.key({ text: '\u{1F600}' });
  assert.equal(odd.ok, false);
});

test('clearClipboard drops the CLIPBOARD and PRIMARY owners of that display only', () => {
  const l = x();
  const owner = (i: number, sel: string) => l.XGetSelectionOwner(probes[i]!, l.XInternAtom(probes[i]!, sel, 0)) as number | bigint;
  for (const i of [0, 1]) {
    const root = l.XDefaultRootWindow(probes[i]!);
    for (const sel of ['CLIPBOARD', 'PRIMARY']) l.XSetSelectionOwner(probes[i]!, l.XInternAtom(probes[i]!, sel, 0), root, 0n);
    l.XSync(probes[i]!, 0);
  }
  assert.notEqual(Number(owner(0, 'CLIPBOARD')), 0);
  assert.ok(desks[0]!.clearClipboard().ok);
  l.XSync(probes[0]!, 0);
  assert.equal(Number(owner(0, 'CLIPBOARD')), 0);
  assert.equal(Number(owner(0, 'PRIMARY')), 0);
  assert.notEqual(Number(owner(1, 'CLIPBOARD')), 0);
});

test('capture loop sends a keyframe, then only the tiles around a small drawn rectangle', async () => {
  const l = x();
  const dpy = probes[0]!;
  const frames: VideoFrame[] = [];
  const loop = startCaptureLoop(desks[0]!, { fps: 10, quality: 70, epoch: () => 5, onFrame: (f) => frames.push(f) });
  const waitFor = async (pred: (f: VideoFrame) => boolean) => {
    for (;;) {
      const f = frames.find(pred);
      if (f) return f;
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  try {
    const key = await waitFor(() => true);
    assert.equal(key.keyframe, true);
    assert.equal(key.epoch, 5);
    assert.equal(
      key.tiles!.reduce((n, t) => n + t.width! * t.height!, 0),
      1024 * 768,
    );
    const gc = l.XCreateGC(dpy, l.XDefaultRootWindow(dpy), 0n, null);
    l.XSetForeground(dpy, gc, 0x00ff00n);
    l.XFillRectangle(dpy, l.XDefaultRootWindow(dpy), gc, 300, 200, 20, 20);
    l.XFreeGC(dpy, gc);
    l.XSync(dpy, 0);
    const delta = await waitFor((f) => !f.keyframe);
    assert.deepEqual(
      delta.tiles!.map((t) => [t.x, t.y, t.width, t.height]),
      [[256, 192, 64, 64]],
    );
    assert.equal(delta.tiles![0]!.encoding, 0); // TILE_JPEG
  } finally {
    await loop.stop();
  }
});

test('close is idempotent and later calls fail as values', async () => {
  const d = displays[1]!;
  const r = await openX11Desktop({ sessionId: 9, display: d.name, uid: d.uid, user: d.user });
  assert.ok(r.ok);
  r.value.close();
  r.value.close();
  const g = await r.value.grab();
  assert.equal(g.ok, false);
  assert.equal(r.value.mouse({ x: 1, y: 1 }).ok, false);
  const missing = await openX11Desktop({ sessionId: 10, display: ':999', uid: 0, user: 'root' });
  assert.equal(missing.ok, false);
  assert.equal(!missing.ok && missing.error.code, 'SESSION_NOT_CAPTURABLE');
});

test('the X server going away turns into errors, not a dead agent, and later desktops still open', async () => {
  const extra = await startUserDisplays(['gc-alice']);
  try {
    const d = extra.displays[0]!;
    const r = await openX11Desktop({ sessionId: 11, display: d.name, uid: d.uid, user: d.user });
    assert.ok(r.ok);
    assert.equal((await r.value.grab()).ok, true);
    await d.child.stop(2000, 'SIGKILL');
    const g = await r.value.grab();
    assert.equal(!g.ok && g.error.code, 'SESSION_NOT_CAPTURABLE');
    r.value.mouse({ x: 1, y: 1 }); // notices the broken connection on flush
    assert.equal(r.value.clearClipboard().ok, false);
    r.value.close();
  } finally {
    await extra.stop();
  }
  // The next desktop opened in the same process still works: a connection that died must leave no
  // dangling state in libXext behind (it once did, and the next XShmQueryExtension crashed the agent).
  for (let i = 0; i < 3; i++) {
    const next = await startUserDisplays(['gc-bob']);
    try {
      const d = next.displays[0]!;
      const r = await openX11Desktop({ sessionId: 12, display: d.name, uid: d.uid, user: d.user });
      assert.ok(r.ok);
      assert.equal((await r.value.grab()).ok, true);
      await d.child.stop(2000, 'SIGKILL');
      assert.equal((await r.value.grab()).ok, false);
      r.value.mouse({ x: 2, y: 2 });
      r.value.close();
    } finally {
      await next.stop();
    }
  }
});
