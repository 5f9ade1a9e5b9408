/**
 * Screen capture and the per-session helper on real Win32 calls, under Wine (test/windows/run.sh)
 * or Windows. Wine 8 has one session and no DXGI desktop duplication, so this proves: the DXGI path
 * is tried and the reason it fell back to GDI is logged; the D3D11 readback path when a device exists;
 * the helper started by the production launch code (DuplicateTokenEx + SetTokenInformation +
 * CreateProcessAsUserW) in the own session, frames over its pipe, a mouse move, and that close()
 * ends it. With a display (run.sh runs this file a second time under Xvfb) GDI gives real pixels.
 *
 * This bundle is also the helper's entry: started with --gc-session-helper it becomes the helper.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import koffi from 'koffi';
import { createBgraTexture, createD3DDevice, createTextureReader } from '../../agent/platform/windows/dxgi-device.js';
import { createScreenCapture } from '../../agent/platform/windows/dxgi-with-gdi-fallback.js';
import { createGdiGrabber, virtualScreen } from '../../agent/platform/windows/gdi-capture.js';
import { openHelperDesktop } from '../../agent/platform/windows/helper-desktop.js';
import { ownSessionId } from '../../agent/platform/windows/sessions.js';
import { runSessionHelperIfAsked } from '../../agent/platform/windows/session-helper/run.js';
import { release } from '../../agent/platform/windows/com.js';

if (!(await runSessionHelperIfAsked())) defineTests();

function defineTests(): void {
  const underWine = (() => {
    try {
      koffi.load('ntdll.dll').func('const char * wine_get_version()');
      return true;
    } catch {
      return false;
    }
  })();
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
          assert.ok(!underWine, 'Wine 8 has no DuplicateOutput');
          assert.match(logs[0] ?? '', /^capture: DXGI desktop duplication of /);
          assert.ok(first.ok && second.ok);
          return;
        }
        const fallback = logs.filter((l) => l.startsWith('capture: GDI BitBlt, because DXGI desktop duplication is unavailable: '));
        assert.equal(fallback.length, 1, 'the reason is logged exactly once over two grabs');
        if (underWine) {
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

    test('the D3D11 readback (CreateTexture2D, CopyResource, Map by RowPitch, Unmap) returns the uploaded pixels', (t) => {
      const dev = createD3DDevice();
      if (!dev.ok) {
        // Only a D3D11 device can show this path; Wine without a display has none.
        assert.ok(!display && underWine, `no D3D11 device: ${dev.error.message}`);
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
          const f = reader.read(tex.value);
          release(tex.value);
          assert.ok(f.ok, f.ok ? '' : f.error.message);
          assert.deepEqual([f.value.width, f.value.height, f.value.stride], [w, h, w * 4]);
          assert.ok(Buffer.from(f.value.data).equals(px), `${w}x${h}: the pixels read back are the ones uploaded`);
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
        const path = underWine ? 'gdi' : '(gdi|dxgi)';
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

    test('a helper that cannot start says why instead of hanging', async () => {
      const r = await openHelperDesktop(ownSessionId(), { log: () => {}, args: ['C:\\gc-no-such-dir\\no-helper.mjs'], helloTimeoutMs: 30_000 });
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.error.code, 'NOT_AVAILABLE');
        assert.match(r.error.message, /went away \(exit code 1\)/);
      }
    });
  });
}
