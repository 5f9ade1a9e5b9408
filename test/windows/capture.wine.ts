/**
 * Screen capture and the per-session helper on real Win32 calls, under Wine (test/windows/run.sh)
 * or Windows. Wine 8 has one session and no DXGI desktop duplication, so this proves: the DXGI path
 * is tried and the reason it fell back to GDI is logged; the D3D11 readback path when a device exists;
 * the helper started by the production launch code (DuplicateTokenEx + SetTokenInformation +
 * CreateProcessAsUserW) in the own session, frames over its pipe, a mouse move, and that close()
 * ends it. With a display (run.sh runs this file a second time under Xvfb) GDI gives real pixels,
 * and the mouse pointer is checked in them: in this process and in the helper.
 *
 * This bundle is also the helper's entry: started with --gc-session-helper it becomes the helper.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import koffi from 'koffi';
import { createD3DDevice, createTextureReader, packMapped } from '../../agent/platform/windows/dxgi-device.js';
import { createBgraTexture } from './support/d3d-texture.js';
import { createScreenCapture } from '../../agent/platform/windows/dxgi-with-gdi-fallback.js';
import { createGdiGrabber, virtualScreen } from '../../agent/platform/windows/gdi-capture.js';
import { openHelperDesktop } from '../../agent/platform/windows/helper-desktop.js';
import { ownSessionId } from '../../agent/platform/windows/sessions.js';
import { runSessionHelper, runSessionHelperIfAsked } from '../../agent/platform/windows/session-helper/run.js';
import { applyRects } from '../../agent/platform/windows/helper-frame-delta.js';
import { type FrameMessage, createMessageSplitter, decodeFromHelper, encodeToHelper } from '../../agent/platform/windows/helper-protocol.js';
import { PassThrough, Writable } from 'node:stream';
import { release } from '../../agent/platform/windows/com.js';
import { type CursorImage, drawCursor } from '../../agent/frames/cursor-overlay.js';
import type { CursorShape } from '../../agent/platform/windows/cursor-decode.js';
import { createPointerReader, readCursorShape } from '../../agent/platform/windows/cursor-reader.js';
import { openOwnDesktop } from '../../agent/platform/windows/desktop.js';
import type { RawFrame } from '../../agent/platform/port.js';
import { UNDER_WINE } from './under-wine.js';

if (!(await runSessionHelperIfAsked())) defineTests();

function defineTests(): void {
  const user32 = koffi.load('user32.dll');
  const gdi32 = koffi.load('gdi32.dll');
  const kernel32 = koffi.load('kernel32.dll');
  const GetCursorPos = user32.func('bool __stdcall GetCursorPos(void *pt)');
  const GetDC = user32.func('void * __stdcall GetDC(void *hwnd)');
  const ReleaseDC = user32.func('int __stdcall ReleaseDC(void *hwnd, void *dc)');
  const FillRect = user32.func('int __stdcall FillRect(void *dc, void *rect, void *brush)');
  const CreateSolidBrush = gdi32.func('void * __stdcall CreateSolidBrush(uint32_t color)');
  const DeleteObject = gdi32.func('bool __stdcall DeleteObject(void *obj)');
  const GetPixel = gdi32.func('uint32_t __stdcall GetPixel(void *dc, int x, int y)');
  const OpenProcess = kernel32.func('void * __stdcall OpenProcess(uint32_t access, bool inherit, uint32_t pid)');
  const WaitForSingleObject = kernel32.func('uint32_t __stdcall WaitForSingleObject(void *h, uint32_t ms)');
  const CloseHandle = kernel32.func('bool __stdcall CloseHandle(void *h)');
  const SYNCHRONIZE = 0x00100000;

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** A liveness bound, not a timing claim. */
  const eventually = async (cond: () => boolean, what: string, tries = 100) => {
    for (let i = 0; i < tries && !cond(); i++) await sleep(50);
    assert.ok(cond(), what);
  };
  const cursor = () => {
    const pt = Buffer.alloc(8);
    GetCursorPos(pt);
    return { x: pt.readInt32LE(0), y: pt.readInt32LE(4) };
  };
  /** Whether process `pid` still runs (OpenProcess fails once it is gone and reaped). */
  const running = (pid: number): boolean => {
    const h = OpenProcess(SYNCHRONIZE, false, pid) as bigint | null;
    if (!h) return false;
    try {
      return WaitForSingleObject(h, 0) !== 0;
    } finally {
      CloseHandle(h);
    }
  };
  /**
   * Paints a solid rectangle straight onto the screen (COLORREF is 0x00BBGGRR). Reading a pixel back
   * is a round trip to the X server under Wine, which flushes the drawing so other processes see it.
   */
  const paint = (x: number, y: number, w: number, h: number, colorref: number) => {
    const dc = GetDC(null);
    const r = Buffer.alloc(16);
    r.writeInt32LE(x, 0);
    r.writeInt32LE(y, 4);
    r.writeInt32LE(x + w, 8);
    r.writeInt32LE(y + h, 12);
    const brush = CreateSolidBrush(colorref);
    FillRect(dc, r, brush);
    DeleteObject(brush);
    const back = GetPixel(dc, x, y) as number;
    ReleaseDC(null, dc);
    assert.equal(back, colorref, 'the screen took the paint');
  };
  const pixelAt = (f: { stride: number; data: Uint8Array }, x: number, y: number) => Buffer.from(f.data.buffer, f.data.byteOffset).readUInt32LE(y * f.stride + x * 4) & 0xffffff;

  // Whether the screen gives pixels at all: Wine without a display (nulldrv) has no screen bits.
  const gdiProbe = createGdiGrabber();
  const display = gdiProbe.grab().ok;
  gdiProbe.close();

  describe('screen capture: DXGI desktop duplication, GDI fallback', () => {
    test(`the DXGI path is tried; why it is not used is logged once (display: ${display})`, async (t) => {
      const logs: string[] = [];
      const cap = createScreenCapture({ log: (m) => logs.push(m) });
      try {
        const first = await cap.grab();
        const second = await cap.grab();
        t.diagnostic(`capture log: ${JSON.stringify(logs)}; source ${cap.source}`);
        if (cap.source === 'dxgi') {
          // Real Windows with a GPU (or WARP): duplication works.
          assert.ok(!UNDER_WINE, 'Wine 8 has no DuplicateOutput');
          assert.match(logs[0] ?? '', /^capture: DXGI desktop duplication of /);
          assert.ok(first.ok && second.ok);
          return;
        }
        const fallback = logs.filter((l) => l.startsWith('capture: GDI BitBlt, because DXGI desktop duplication is unavailable: '));
        assert.equal(fallback.length, 1, 'the reason is logged exactly once over two grabs');
        if (UNDER_WINE) {
          // Without a display wined3d has no GL: no device. With one, the chain runs up to DuplicateOutput, a stub.
          const why = display ? /IDXGIOutput1::DuplicateOutput on \\\\\.\\DISPLAY1 failed \(0x80004001\)$/ : /D3D11CreateDevice failed \(0x887A0004\)$/;
          assert.match(fallback[0] ?? '', why);
        }
        const s = virtualScreen();
        for (const g of [first, second]) {
          if (display) {
            assert.ok(g.ok, g.ok ? '' : g.error.message);
            assert.equal(g.value.source, 'gdi');
            assert.deepEqual([g.value.frame.width, g.value.frame.height], [s.width, s.height]);
            assert.equal(g.value.frame.data.length, g.value.frame.stride * g.value.frame.height);
          } else {
            assert.equal(g.ok, false);
            if (!g.ok) assert.match(g.error.message, /BitBlt failed/);
          }
        }
      } finally {
        cap.close();
      }
    });

    test('packMapped copies native rows (RtlMoveMemory) into a recycled frame of the right size, a new buffer otherwise; pitch padding is dropped', () => {
      for (const [w, h, pitch] of [
        [37, 5, 37 * 4],
        [37, 5, 160],
        [37, 5, 256],
        [1920, 3, 7680],
        [1366, 4, 5504],
      ] as const) {
        // Native memory the test owns: a Buffer's address, rows `pitch` apart, padding 0xEE.
        const src = Buffer.alloc(pitch * h, 0xee);
        const packed = Buffer.alloc(w * h * 4);
        for (let y = 0; y < h; y++) {
          for (let i = 0; i < w * 4; i++) {
            const v = (y * 31 + i * 7 + pitch) & 0x7f;
            src[y * pitch + i] = v;
            packed[y * w * 4 + i] = v;
          }
        }
        const ptr = koffi.address(src);
        const recycle: RawFrame = { width: w, height: h, stride: w * 4, data: Buffer.alloc(w * h * 4, 0x11) };
        const into = packMapped(ptr, pitch, w, h, recycle);
        assert.ok(into.ok, into.ok ? '' : into.error.message);
        assert.equal(into.value.data, recycle.data, `${w}x${h} pitch ${pitch}: the recycled buffer is filled`);
        assert.notEqual(into.value, recycle, 'as a new frame object');
        assert.deepEqual([into.value.width, into.value.height, into.value.stride], [w, h, w * 4]);
        assert.ok(Buffer.from(into.value.data).equals(packed), `${w}x${h} pitch ${pitch}: the rows, packed`);
        const wrong: RawFrame = { width: w, height: h - 1, stride: w * 4, data: Buffer.alloc(w * (h - 1) * 4, 0x22) };
        const fresh = packMapped(ptr, pitch, w, h, wrong);
        assert.ok(fresh.ok);
        assert.notEqual(fresh.value.data, wrong.data, 'another size: a new buffer');
        assert.ok(Buffer.from(wrong.data).equals(Buffer.alloc(w * (h - 1) * 4, 0x22)), 'the refused frame is untouched');
        assert.ok(Buffer.from(fresh.value.data).equals(packed));
        // A copy, not a view: the source changing afterwards does not reach the frame.
        src.fill(0x55);
        assert.ok(Buffer.from(into.value.data).equals(packed) && Buffer.from(fresh.value.data).equals(packed), 'the frames do not alias the source');
      }
      assert.equal(packMapped(0n, 148, 37, 5).ok, false, 'NULL mapping');
      assert.equal(packMapped(koffi.address(Buffer.alloc(64)), 8, 4, 1).ok, false, 'pitch below a row');
    });

    test('GDI and the capture chain grab into a recycled frame of the right size; another size or the frame last handed out gets a new buffer', async (t) => {
      if (!display) {
        t.diagnostic('no display: BitBlt gives no pixels, nothing to grab into');
        return;
      }
      const s = virtualScreen();
      const bytes = s.width * s.height * 4;
      const gdi = createGdiGrabber();
      try {
        paint(30, 40, 16, 16, 0x0000ff); // red
        const recycle: RawFrame = { width: s.width, height: s.height, stride: s.width * 4, data: Buffer.alloc(bytes, 0x5a) };
        const a = gdi.grab(recycle);
        assert.ok(a.ok, a.ok ? '' : a.error.message);
        assert.equal(a.value.data, recycle.data, 'the recycled buffer');
        assert.equal(pixelAt(a.value, 35, 45), 0xff0000, 'filled with the screen (the red square, BGRX)');
        paint(30, 40, 16, 16, 0x00ff00); // green
        const b = gdi.grab(a.value);
        assert.ok(b.ok);
        assert.equal(b.value.data, recycle.data, 'the same buffer again');
        assert.equal(pixelAt(b.value, 35, 45), 0x00ff00, 'now holding the new pixels');
        const small: RawFrame = { width: s.width - 1, height: s.height, stride: (s.width - 1) * 4, data: Buffer.alloc(bytes - s.height * 4, 0x5a) };
        const c = gdi.grab(small);
        assert.ok(c.ok);
        assert.notEqual(c.value.data, small.data, 'another size: a new buffer');
        assert.ok(!Buffer.from(small.data).some((v) => v !== 0x5a), 'the refused frame is untouched');
        assert.equal(c.value.data.length, bytes);
        assert.equal(pixelAt(c.value, 35, 45), 0x00ff00);
      } finally {
        gdi.close();
      }

      const cap = createScreenCapture({ log: () => {}, dxgi: !UNDER_WINE, pointer: false }); // the pointer could cover the square
      try {
        paint(30, 40, 16, 16, 0xff0000); // blue
        const spare: RawFrame = { width: s.width, height: s.height, stride: s.width * 4, data: Buffer.alloc(bytes, 0x5a) };
        const first = await cap.grab(spare);
        assert.ok(first.ok, first.ok ? '' : first.error.message);
        assert.equal(first.value.frame.data, spare.data, 'the chain passes the recycled frame down to the grabber');
        assert.equal(pixelAt(first.value.frame, 35, 45), 0x0000ff, 'with the new pixels (blue)');
        // The frame just handed out, offered back (a caller that got the same frame twice): never written into.
        const handed = Buffer.from(first.value.frame.data);
        paint(30, 40, 16, 16, 0x00ffff); // yellow
        const second = await cap.grab(first.value.frame);
        assert.ok(second.ok);
        if (second.value.frame !== first.value.frame) assert.notEqual(second.value.frame.data, spare.data, 'a new buffer, not the one last handed out');
        assert.ok(Buffer.from(first.value.frame.data).equals(handed), 'the frame last handed out is unchanged');
        const spare2: RawFrame = { width: s.width, height: s.height, stride: s.width * 4, data: Buffer.alloc(bytes, 0x5a) };
        paint(30, 40, 16, 16, 0xff00ff); // magenta
        const third = await cap.grab(spare2);
        assert.ok(third.ok);
        assert.equal(third.value.frame.data, spare2.data);
        assert.equal(pixelAt(third.value.frame, 35, 45), 0xff00ff);
        const fourth = await cap.grab(first.value.frame);
        assert.ok(fourth.ok);
        assert.equal(fourth.value.frame.data, spare.data, 'a frame no longer the last one handed out is reused');
      } finally {
        cap.close();
      }
    });

    test('the D3D11 readback (CreateTexture2D, CopyResource, Map by RowPitch, Unmap) returns the uploaded pixels', (t) => {
      const dev = createD3DDevice();
      if (!dev.ok) {
        // Only a D3D11 device can show this path; Wine without a display has none.
        assert.ok(!display && UNDER_WINE, `no D3D11 device: ${dev.error.message}`);
        assert.match(dev.error.message, /D3D11CreateDevice failed \(0x887A0004\)/);
        return;
      }
      t.diagnostic(`D3D11 feature level 0x${dev.value.featureLevel.toString(16)}`);
      const reader = createTextureReader(dev.value);
      try {
        // An odd width makes a RowPitch larger than width * 4 likely: rows must be repacked.
        for (const [w, h] of [
          [37, 5],
          [64, 3],
        ] as const) {
          const px = Buffer.alloc(w * h * 4);
          for (let i = 0; i < w * h; i++) px.writeUInt32LE((((i * 2654435761) >>> 8) | 0xff000000) >>> 0, i * 4);
          const tex = createBgraTexture(dev.value, w, h, px);
          assert.ok(tex.ok, tex.ok ? '' : tex.error.message);
          const recycle: RawFrame = { width: w, height: h, stride: w * 4, data: Buffer.alloc(w * h * 4, 0x5a) };
          const f = reader.read(tex.value, recycle);
          const again = reader.read(tex.value, { ...recycle, data: Buffer.alloc(4) });
          release(tex.value);
          assert.ok(f.ok, f.ok ? '' : f.error.message);
          assert.deepEqual([f.value.width, f.value.height, f.value.stride], [w, h, w * 4]);
          assert.equal(f.value.data, recycle.data, 'read into the recycled buffer');
          assert.ok(Buffer.from(f.value.data).equals(px), `${w}x${h}: the pixels read back are the ones uploaded`);
          assert.ok(again.ok && again.value.data !== recycle.data && Buffer.from(again.value.data).equals(px), 'another size: a new buffer with the pixels');
        }
      } finally {
        reader.close();
        dev.value.release();
      }
    });
  });

  describe('session helper (started in the own session: Wine has only one)', () => {
    test('the production launch path starts it; frames of the screen size come over the pipe; a mouse move lands; close() ends it', async (t) => {
      const logs: string[] = [];
      const started = Date.now();
      const opened = await openHelperDesktop(ownSessionId(), { log: (m) => logs.push(m) });
      assert.ok(opened.ok, opened.ok ? '' : `${opened.error.code}: ${opened.error.message}`);
      const desk = opened.value;
      const pid = desk.helperPid;
      t.diagnostic(`helper pid ${pid} said hello after ${Date.now() - started} ms`);
      try {
        assert.ok(pid > 0 && pid !== process.pid, 'a separate helper process runs');
        assert.ok(running(pid));
        // Wine has no DXGI duplication: the hello must say GDI (it reports the path after trying DXGI).
        const path = UNDER_WINE ? 'gdi' : '(gdi|dxgi)';
        assert.ok(
          logs.some((l) => new RegExp(`^session ${ownSessionId()} helper started \\(pid ${pid}, ${path}\\)`).test(l)),
          JSON.stringify(logs),
        );

        const s = virtualScreen();
        if (display) {
          paint(10, 10, 40, 30, 0x0000ff); // red
          const t0 = Date.now();
          const g1 = await desk.grab();
          const fullMs = Date.now() - t0;
          assert.ok(g1.ok, g1.ok ? '' : g1.error.message);
          assert.deepEqual([g1.value.width, g1.value.height, g1.value.stride], [s.width, s.height, s.width * 4]);
          assert.equal(g1.value.data.length, s.width * s.height * 4);
          assert.equal(pixelAt(g1.value, 20, 20), 0xff0000, 'the red rectangle painted by the test is in the frame (BGRX)');
          // Only the changed rectangle travels now; the agent side rebuilds the whole frame.
          paint(100, 60, 20, 20, 0x00ff00); // green
          const t1 = Date.now();
          const g2 = await desk.grab();
          const deltaMs = Date.now() - t1;
          assert.ok(g2.ok, g2.ok ? '' : g2.error.message);
          assert.equal(pixelAt(g2.value, 110, 70), 0x00ff00, 'the green change arrived');
          assert.equal(pixelAt(g2.value, 20, 20), 0xff0000, 'the unchanged red area was kept from the previous frame');
          assert.notEqual(g2.value.data, g1.value.data, 'a new buffer: the previous frame is left intact for diffing');
          assert.equal(pixelAt(g1.value, 110, 70) === 0x00ff00, false, 'the previous frame was not written over');
          const t2 = Date.now();
          const g3 = await desk.grab();
          const sameMs = Date.now() - t2;
          assert.ok(g3.ok);
          assert.equal(g3.value, g2.value, 'nothing changed: the same frame again, nothing rebuilt');
          paint(0, 0, s.width, s.height, 0xff0000); // blue everywhere: every row travels
          const t3 = Date.now();
          const g4 = await desk.grab();
          const wholeMs = Date.now() - t3;
          assert.ok(g4.ok);
          assert.equal(pixelAt(g4.value, s.width - 1, s.height - 1), 0x0000ff);
          // Recycled frames (the capture loop's spares): a frame no longer the base receives the rebuilt
          // frame; the base offered back is never written into. The helper refills its own sent-before-last
          // frame meanwhile: wrong pixels here would show a buffer refilled while still in use.
          let spare = g1.value;
          for (const [i, colour] of [0x00ffff, 0xff00ff, 0x00ff00, 0xffff00].entries()) {
            const x = 200 + 30 * i;
            paint(x, 100, 20, 20, colour);
            const base = await desk.grab(); // the helper sends only the square; the agent side rebuilds around it
            assert.ok(base.ok);
            const baseBytes = Buffer.from(base.value.data);
            paint(x, 140, 20, 20, colour);
            const self = await desk.grab(base.value);
            assert.ok(self.ok);
            assert.notEqual(self.value.data, base.value.data, 'the base offered back: a new buffer');
            assert.ok(Buffer.from(base.value.data).equals(baseBytes), 'the base offered back is untouched');
            paint(x, 180, 20, 20, colour);
            const into = await desk.grab(spare);
            assert.ok(into.ok);
            assert.equal(into.value.data, spare.data, 'a spare of the right size receives the rebuilt frame');
            const bgrx = ((colour & 0xff) << 16) | (colour & 0xff00) | (colour >>> 16);
            for (const y of [110, 150, 190]) assert.equal(pixelAt(into.value, x + 10, y), bgrx, `square ${i} at y ${y}`);
            if (i > 0) assert.equal(pixelAt(into.value, x - 20, 190), pixelAt(self.value, x - 20, 190), 'the earlier squares kept');
            assert.equal(pixelAt(into.value, s.width - 1, s.height - 1), 0x0000ff, 'the rest kept from before');
            spare = self.value; // no longer the base: the next round offers it
          }
          const local = createGdiGrabber();
          const t4 = Date.now();
          assert.ok(local.grab().ok);
          const localMs = Date.now() - t4;
          local.close();
          t.diagnostic(
            `grab through the helper (${desk.source}, ${s.width}x${s.height}): first ${fullMs} ms, ` +
              `small change ${deltaMs} ms, nothing changed ${sameMs} ms, whole screen changed ${wholeMs} ms; GDI in this process ${localMs} ms`,
          );
        } else {
          // No pixels without a display: the helper's own failure must come back over the pipe, twice.
          for (let i = 0; i < 2; i++) {
            const g = await desk.grab();
            assert.equal(g.ok, false);
            if (!g.ok) {
              assert.equal(g.error.code, 'NOT_AVAILABLE');
              assert.match(g.error.message, /BitBlt failed/);
            }
          }
          assert.ok(
            logs.some((l) => /helper: capture: GDI BitBlt, because DXGI desktop duplication is unavailable: D3D11CreateDevice failed/.test(l)),
            `the helper logged its DXGI fallback through the pipe: ${JSON.stringify(logs)}`,
          );
        }

        // Input goes to the helper's desktop; the cursor position is shared with this process.
        const target = { x: Math.min(123, s.width - 1), y: Math.min(45, s.height - 1) };
        assert.notDeepEqual(cursor(), target);
        const moved = desk.mouse({ x: target.x, y: target.y, buttons: 0 });
        assert.ok(moved.ok, moved.ok ? '' : moved.error.message);
        await eventually(() => cursor().x === target.x && cursor().y === target.y, `the cursor reached ${JSON.stringify(target)} (now ${JSON.stringify(cursor())})`);
        assert.ok(desk.key({ keyCode: 0x10, down: false }).ok, 'a key message is accepted');
      } finally {
        desk.close();
      }
      await eventually(() => !running(pid), `helper ${pid} is gone after close()`);
      assert.equal(desk.helperPid, 0);
      const after = await desk.grab();
      assert.equal(after.ok, false, 'a closed desktop grabs nothing');
      assert.equal(desk.mouse({ x: 1, y: 1 }).ok, false);
      desk.close(); // idempotent
    });

    test("the helper packs each frame's changed areas into one reused buffer, not new ones per frame, and each message still carries its own pixels", {
      skip: !display && 'no screen pixels without a display',
    }, async (t) => {
      const N = 12;
      // A slow pipe: each chunk is read only after a timer, so an area refilled before its message was
      // written out would show as wrong pixels in the rebuilt frames.
      const arrays = new Map<number, Set<ArrayBufferLike>>(); // frame seq -> memory its changed areas travelled in
      const splitter = createMessageSplitter();
      const frames: FrameMessage[] = [];
      let wrote: (() => void) | undefined;
      const stdout = new Writable({
        write(chunk: Buffer, _enc, cb) {
          const memory = chunk.buffer;
          setTimeout(() => {
            const index = frames.length; // the frame this chunk belongs to
            const bodies = splitter.push(Buffer.from(chunk));
            assert.ok(bodies.ok);
            for (const body of bodies.value) {
              const m = decodeFromHelper(body);
              assert.ok(m.ok, m.ok ? '' : m.error.message);
              if (m.value.type === 'frame') frames.push(m.value);
            }
            // Areas are above the 4 KiB Buffers share a pool below; headers are 16-23 bytes.
            if (chunk.byteLength >= 4096) arrays.set(index, (arrays.get(index) ?? new Set()).add(memory));
            cb();
            wrote?.();
          }, 2);
        },
      });
      const stdin = new PassThrough();
      const saved = { ...console };
      const done = runSessionHelper({ stdin, stdout });
      const frameCount = async (n: number) => {
        while (frames.length < n) await new Promise<void>((r) => (wrote = r));
      };
      let base: RawFrame | undefined;
      try {
        for (let i = 0; i <= N; i++) {
          const x = 40 + (i % 4) * 90;
          const y = 40 + Math.floor(i / 4) * 90;
          paint(x, y, 64, 64, [0x0000ff, 0x00ff00, 0xff0000][i % 3]!);
          for (const b of encodeToHelper({ type: 'grab', seq: i, full: false })) stdin.write(b);
          await frameCount(i + 1);
          const m = frames[i]!;
          assert.equal(m.seq, i);
          assert.equal(m.full, i === 0, i === 0 ? 'the first frame goes whole' : `frame ${i} goes as changed areas`);
          const f = applyRects(base, m);
          assert.ok(f.ok, f.ok ? '' : f.error.message);
          base = f.value;
          assert.equal(pixelAt(base, x + 32, y + 32), [0xff0000, 0x00ff00, 0x0000ff][i % 3], `frame ${i}: the square just painted, as sent`);
        }
        const areaMemory = new Set<ArrayBufferLike>();
        for (let i = 1; i <= N; i++) for (const m of arrays.get(i) ?? []) areaMemory.add(m);
        t.diagnostic(`${N} frames of changed areas travelled in ${areaMemory.size} distinct buffer(s)`);
        assert.ok((arrays.get(N)?.size ?? 0) > 0, 'the changed areas were seen');
        assert.equal(areaMemory.size, 1, `one buffer for the changed areas of ${N} frames, not a new one per frame`);
      } finally {
        for (const b of encodeToHelper({ type: 'close' })) stdin.write(b);
        await done;
        Object.assign(console, saved);
      }
    });

    test('a helper that cannot start says why instead of hanging', async () => {
      const r = await openHelperDesktop(ownSessionId(), { log: () => {}, args: ['C:\\gc-no-such-dir\\no-helper.mjs'], helloTimeoutMs: 30_000 });
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.error.code, 'NOT_AVAILABLE');
        assert.match(r.error.message, /went away \(exit code 1\)/);
      }
    });
  });

  describe('the mouse pointer in frames', () => {
    const SetCursorPos = user32.func('bool __stdcall SetCursorPos(int x, int y)');
    const GetCursorInfo = user32.func('bool __stdcall GetCursorInfo(void *info)');
    const LoadCursorW = user32.func('void * __stdcall LoadCursorW(void *instance, uintptr_t name)');
    const CreateCursor = user32.func('void * __stdcall CreateCursor(void *inst, int xHot, int yHot, int w, int h, void *and, void *xor)');
    const DestroyCursor = user32.func('bool __stdcall DestroyCursor(void *cursor)');
    const DrawIconEx = user32.func('bool __stdcall DrawIconEx(void *dc, int x, int y, void *icon, int cx, int cy, uint32_t step, void *brush, uint32_t flags)');
    const RegisterClassExW = user32.func('uint16_t __stdcall RegisterClassExW(void *wc)');
    const UnregisterClassW = user32.func('bool __stdcall UnregisterClassW(void *name, void *instance)');
    const CreateWindowExW = user32.func(
      'void * __stdcall CreateWindowExW(uint32_t ex, void *cls, void *name, uint32_t style, int x, int y, int cx, int cy, void *parent, void *menu, void *inst, void *param)',
    );
    const DestroyWindow = user32.func('bool __stdcall DestroyWindow(void *hwnd)');
    const UpdateWindow = user32.func('bool __stdcall UpdateWindow(void *hwnd)');
    const PeekMessageW = user32.func('bool __stdcall PeekMessageW(void *msg, void *hwnd, uint32_t min, uint32_t max, uint32_t remove)');
    const DispatchMessageW = user32.func('intptr_t __stdcall DispatchMessageW(void *msg)');
    const GetModuleHandleW = kernel32.func('void * __stdcall GetModuleHandleW(void *name)');
    const GetProcAddress = kernel32.func('void * __stdcall GetProcAddress(void *module, const char *name)');
    const CreateCompatibleDC = gdi32.func('void * __stdcall CreateCompatibleDC(void *dc)');
    const CreateDIBSection = gdi32.func('void * __stdcall CreateDIBSection(void *dc, void *bmi, uint32_t usage, void *bits, void *section, uint32_t offset)');
    const SelectObject = gdi32.func('void * __stdcall SelectObject(void *dc, void *obj)');
    const DeleteDC = gdi32.func('bool __stdcall DeleteDC(void *dc)');
    const GdiFlush = gdi32.func('bool __stdcall GdiFlush()');
    const IDC_ARROW = 32512;
    const DI_NORMAL = 3;
    const WS_POPUP_VISIBLE = 0x80000000 | 0x10000000;

    /**
     * A 16x16 monochrome cursor, hotspot (2,3), four bands of four columns: AND 0 XOR 0 (black),
     * AND 0 XOR 1 (white), AND 1 XOR 0 (transparent), AND 1 XOR 1 (inverts the screen).
     */
    const bandCursor = (): bigint => {
      const and = Buffer.alloc(32);
      const xor = Buffer.alloc(32);
      for (let y = 0; y < 16; y++) {
        and.writeUInt8(0x00, y * 2);
        xor.writeUInt8(0x0f, y * 2);
        and.writeUInt8(0xff, y * 2 + 1);
        xor.writeUInt8(0x0f, y * 2 + 1);
      }
      const h = CreateCursor(null, 2, 3, 16, 16, and, xor) as bigint;
      assert.ok(h, 'CreateCursor made the test cursor');
      return h;
    };
    /** What bandCursor must decode to: the inverting band black, with a white outline on its left. */
    const bandColumn = (x: number) => (x < 4 ? 0xff000000 : x < 8 ? 0xffffffff : x < 11 ? 0 : x === 11 ? 0xffffffff : 0xff000000);

    /** What DrawIconEx draws for `cursor` on black and on white (the system's own rendering). */
    const drawnBySystem = (cursor: bigint, w: number, h: number) => {
      const dc = CreateCompatibleDC(null);
      const bmi = Buffer.alloc(44);
      bmi.writeUInt32LE(40, 0);
      bmi.writeInt32LE(w, 4);
      bmi.writeInt32LE(-h, 8);
      bmi.writeUInt16LE(1, 12);
      bmi.writeUInt16LE(32, 14);
      const out = Buffer.alloc(8);
      const dib = CreateDIBSection(dc, bmi, 0, out, null, 0);
      assert.ok(dib, 'CreateDIBSection');
      SelectObject(dc, dib);
      const bits = () => Buffer.from(koffi.view(out.readBigUInt64LE(0), w * h * 4));
      const render = (fill: number) => {
        bits().fill(fill);
        assert.ok(DrawIconEx(dc, 0, 0, cursor, w, h, 0, null, DI_NORMAL), 'DrawIconEx');
        GdiFlush();
        return Buffer.from(bits());
      };
      const onBlack = render(0);
      const onWhite = render(255);
      DeleteDC(dc);
      DeleteObject(dib);
      return { onBlack, onWhite };
    };

    const cursorInfo = () => {
      const b = Buffer.alloc(24);
      b.writeUInt32LE(24, 0);
      assert.ok(GetCursorInfo(b));
      return { showing: (b.readUInt32LE(4) & 1) === 1, handle: b.readBigUInt64LE(8) };
    };
    const pump = () => {
      const msg = Buffer.alloc(48);
      while (PeekMessageW(msg, null, 0, 0, 1)) DispatchMessageW(msg);
    };
    /** Moves the pointer and lets this thread's window answer WM_SETCURSOR (DefWindowProc sets the class cursor). */
    const moveTo = async (x: number, y: number) => {
      assert.ok(SetCursorPos(x, y));
      await eventually(() => {
        pump();
        const p = cursor();
        return p.x === x && p.y === y;
      }, `the pointer reached ${x},${y}`);
      for (let i = 0; i < 3; i++) {
        pump();
        await sleep(20);
      }
    };

    // A window of one colour whose class cursor is the band cursor: over it, Windows (and Wine) show
    // that cursor, so GetCursorInfo names a cursor whose pixels the test knows exactly.
    const COLOR = 0x3080c0; // COLORREF 0x00BBGGRR; the frame's BGRX reads 0xC08030
    const FRAME_COLOR = 0xc08030;
    const area = { x: 300, y: 200, w: 200, h: 150 };
    const withPointerWindow = async (body: (cursor: bigint) => Promise<void>) => {
      const cur = bandCursor();
      const instance = GetModuleHandleW(null);
      const className = Buffer.from('GcPointerTest\0', 'utf16le');
      const brush = CreateSolidBrush(COLOR);
      // WNDCLASSEXW (80 bytes): cbSize @0, style @4, lpfnWndProc @8, hInstance @24, hCursor @40, hbrBackground @48, lpszClassName @64.
      const wc = Buffer.alloc(80);
      wc.writeUInt32LE(80, 0);
      wc.writeBigUInt64LE(BigInt(koffi.address(GetProcAddress(GetModuleHandleW(Buffer.from('user32.dll\0', 'utf16le')), 'DefWindowProcW'))), 8);
      wc.writeBigUInt64LE(BigInt(koffi.address(instance)), 24);
      wc.writeBigUInt64LE(cur, 40);
      wc.writeBigUInt64LE(BigInt(koffi.address(brush)), 48);
      wc.writeBigUInt64LE(BigInt(koffi.address(className)), 64);
      assert.ok(RegisterClassExW(wc), 'RegisterClassExW');
      const hwnd = CreateWindowExW(0, className, null, WS_POPUP_VISIBLE, area.x, area.y, area.w, area.h, null, null, instance, null);
      assert.ok(hwnd, 'CreateWindowExW');
      try {
        UpdateWindow(hwnd);
        pump();
        const dc = GetDC(null);
        const back = GetPixel(dc, area.x + 10, area.y + 10) as number;
        ReleaseDC(null, dc);
        assert.equal(back, COLOR, 'the window is painted in its colour');
        await body(cur);
      } finally {
        DestroyWindow(hwnd);
        pump();
        UnregisterClassW(className, instance);
        DeleteObject(brush);
        DestroyCursor(cur);
        SetCursorPos(640, 400);
      }
    };

    /** The box `r` of a screen-sized frame: painted colour with `shape` drawn at (px, py), as expected. */
    const expectBox = (frame: RawFrame, r: { x: number; y: number; w: number; h: number }, shape: CursorShape | undefined, px: number, py: number, what: string) => {
      const exp: RawFrame = { width: r.w, height: r.h, stride: r.w * 4, data: new Uint8Array(r.w * r.h * 4) };
      const view = Buffer.from(exp.data.buffer);
      for (let i = 0; i < r.w * r.h; i++) view.writeUInt32LE(FRAME_COLOR, i * 4);
      if (shape) drawCursor(exp, { ...shape, x: px - r.x, y: py - r.y } as CursorImage);
      let wrong = 0;
      let first = '';
      for (let y = 0; y < r.h; y++) {
        for (let x = 0; x < r.w; x++) {
          const got = pixelAt(frame, r.x + x, r.y + y);
          const want = view.readUInt32LE((y * r.w + x) * 4) & 0xffffff;
          if (got !== want && wrong++ === 0) first = `(${r.x + x},${r.y + y}) is ${got.toString(16)}, not ${want.toString(16)}`;
        }
      }
      assert.equal(wrong, 0, `${what}: ${wrong} pixels differ, first ${first}`);
    };

    test('cursor bitmaps (GetIconInfo + GetDIBits) decode to what DrawIconEx draws: a monochrome cursor and the standard arrow', (t) => {
      const band = bandCursor();
      try {
        const s = readCursorShape(band);
        assert.ok(s.ok, s.ok ? '' : s.error.message);
        assert.deepEqual([s.value.width, s.value.height, s.value.xhot, s.value.yhot], [16, 16, 2, 3]);
        for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) assert.equal(s.value.argb[y * 16 + x], bandColumn(x), `band cursor pixel ${x},${y}`);
        // The system agrees on every pixel that does not invert (inverting ones are our choice: black with an outline).
        const sys = drawnBySystem(band, 16, 16);
        for (let x = 0; x < 16; x++) {
          const onBlack = sys.onBlack.readUInt32LE(5 * 64 + x * 4) & 0xffffff;
          const onWhite = sys.onWhite.readUInt32LE(5 * 64 + x * 4) & 0xffffff;
          if (x < 4) assert.deepEqual([onBlack, onWhite], [0, 0], `column ${x} black`);
          else if (x < 8) assert.deepEqual([onBlack, onWhite], [0xffffff, 0xffffff], `column ${x} white`);
          else if (x < 12) assert.deepEqual([onBlack, onWhite], [0, 0xffffff], `column ${x} transparent`);
          else assert.deepEqual([onBlack, onWhite], [0xffffff, 0], `column ${x} inverts`);
        }
      } finally {
        DestroyCursor(band);
      }

      const arrow = LoadCursorW(null, IDC_ARROW) as bigint;
      const t0 = performance.now();
      const a = readCursorShape(arrow);
      const ms = performance.now() - t0;
      assert.ok(a.ok, a.ok ? '' : a.error.message);
      const { width, height, argb } = a.value;
      t.diagnostic(`standard arrow ${width}x${height}, hotspot ${a.value.xhot},${a.value.yhot}; decoded in ${ms.toFixed(2)} ms`);
      // Premultiplied ARGB equals the two renders: colour = on black, alpha = 255 - (on white - on black).
      const sys = drawnBySystem(arrow, width, height);
      let opaque = 0;
      let clear = 0;
      let worst = 0;
      for (let i = 0; i < width * height; i++) {
        const p = argb[i]!;
        const alpha = p >>> 24;
        if (alpha === 255) opaque++;
        if (alpha === 0) clear++;
        for (let c = 0; c < 3; c++) {
          const b = sys.onBlack[i * 4 + c]!;
          const w = sys.onWhite[i * 4 + c]!;
          worst = Math.max(worst, Math.abs(((p >>> (8 * c)) & 0xff) - b), Math.abs(255 - (w - b) - alpha));
        }
      }
      t.diagnostic(`arrow: ${opaque} opaque, ${clear} clear pixels; largest difference to DrawIconEx ${worst}`);
      assert.ok(opaque > 20 && clear > 20, 'the arrow has a body and a transparent surround');
      assert.ok(worst <= 2, `decoded arrow and DrawIconEx differ by ${worst} in some channel`);
    });

    test('in this process: the pointer is drawn at its position with its shape, moves, and leaves no trace', { skip: !display && 'no screen pixels without a display' }, async (t) => {
      await withPointerWindow(async (band) => {
        const opened = openOwnDesktop(ownSessionId());
        assert.ok(opened.ok, opened.ok ? '' : opened.error.message);
        const desk = opened.value;
        try {
          const shape = readCursorShape(band);
          assert.ok(shape.ok);
          const box = { x: area.x, y: area.y, w: area.w, h: area.h };
          await moveTo(400, 275);
          assert.equal(cursorInfo().handle, band, 'over the window GetCursorInfo names the window class cursor');
          const g1 = await desk.grab();
          assert.ok(g1.ok, g1.ok ? '' : g1.error.message);
          // Band cursor at hotspot (2,3): black from x-2, white from x+2, the screen from x+6, outline at x+9, black from x+10.
          assert.equal(pixelAt(g1.value, 398, 272), 0x000000, 'black at the top-left (pointer minus hotspot)');
          assert.equal(pixelAt(g1.value, 402, 280), 0xffffff, 'the white band');
          assert.equal(pixelAt(g1.value, 406, 280), FRAME_COLOR, 'the transparent band shows the window');
          assert.equal(pixelAt(g1.value, 397, 280), FRAME_COLOR, 'left of the cursor: the window');
          expectBox(g1.value, box, shape.value, 400, 275, 'pointer at 400,275');

          await moveTo(460, 320);
          const g2 = await desk.grab();
          assert.ok(g2.ok);
          expectBox(g2.value, box, shape.value, 460, 320, 'pointer moved to 460,320: the old place is the window again');

          // Reading the pointer costs GetCursorInfo + GetCursorPos per frame once its shape is cached.
          const reader = createPointerReader(() => {});
          reader.read({ x: 0, y: 0 });
          const t0 = performance.now();
          for (let i = 0; i < 100; i++) reader.read({ x: 0, y: 0 });
          t.diagnostic(`pointer read per frame (cached shape): ${((performance.now() - t0) / 100).toFixed(3)} ms`);
          reader.close();

          await moveTo(40, 700);
          const g3 = await desk.grab();
          assert.ok(g3.ok);
          expectBox(g3.value, box, undefined, 0, 0, 'pointer gone from the window');
        } finally {
          desk.close();
        }
      });
    });

    test('in the session helper: the pointer is drawn before the frame travels, moves as changed rectangles, and goes', { skip: !display && 'no screen pixels without a display' }, async (t) => {
      await withPointerWindow(async (band) => {
        const logs: string[] = [];
        const opened = await openHelperDesktop(ownSessionId(), { log: (m) => logs.push(m) });
        assert.ok(opened.ok, opened.ok ? '' : opened.error.message);
        const desk = opened.value;
        try {
          // Wine keeps cursor bitmaps per process: the helper cannot read this process's cursor and draws
          // the standard arrow (it says so once); Windows shares cursors, and the helper draws the real one.
          const own = readCursorShape(band);
          const arrow = readCursorShape(LoadCursorW(null, IDC_ARROW) as bigint);
          assert.ok(own.ok && arrow.ok);
          const shape = UNDER_WINE ? arrow.value : own.value;
          const box = { x: area.x, y: area.y, w: area.w, h: area.h };
          await moveTo(400, 275);
          const g1 = await desk.grab();
          assert.ok(g1.ok, g1.ok ? '' : g1.error.message);
          assert.notEqual(pixelAt(g1.value, 400, 275), FRAME_COLOR, 'the pointer shows at its hotspot');
          expectBox(g1.value, box, shape, 400, 275, 'helper frame, pointer at 400,275');
          const said = logs.filter((l) => /helper: capture: a pointer shape cannot be read/.test(l));
          t.diagnostic(`helper's pointer log: ${JSON.stringify(said)}`);
          if (UNDER_WINE) {
            assert.ok(
              said.some((l) => /\(GetIconInfo failed \(Win32 error \d+\)\); the standard arrow is drawn in its place$/.test(l)),
              JSON.stringify(logs),
            );
          }
          await moveTo(460, 320);
          const g2 = await desk.grab();
          assert.ok(g2.ok);
          assert.notEqual(g2.value, g1.value, 'the move came as a new frame');
          expectBox(g2.value, box, shape, 460, 320, 'helper frame rebuilt from changed rectangles, pointer at 460,320');
          await moveTo(40, 700);
          const g3 = await desk.grab();
          assert.ok(g3.ok);
          expectBox(g3.value, box, undefined, 0, 0, 'helper frame, pointer gone from the window');
          const g4 = await desk.grab();
          assert.ok(g4.ok);
          assert.equal(g4.value, g3.value, 'pointer still: nothing changed, nothing sent');
        } finally {
          desk.close();
        }
      });
    });
  });
}
