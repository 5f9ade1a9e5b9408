/**
 * The agent <-> session helper wire, the changed-rectangle frames and the helper's command line:
 * everything of the Windows session helper that is pure, on Linux (no DLL is loaded).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { RawFrame } from '../../agent/platform/port.js';
import { SESSION_HELPER_FLAG, commandLine, defaultHelperArgs, isSessionHelperInvocation, quoteArg } from '../../agent/platform/windows/helper-command-line.js';
import { helperArgs } from '../../agent/platform/windows/helper-desktop.js';
import { applyRects, changedRects, wholeFrame } from '../../agent/platform/windows/helper-frame-delta.js';
import {
  type FromHelper,
  MAX_BODY_BYTES,
  type ToHelper,
  createMessageSplitter,
  decodeFromHelper,
  decodeToHelper,
  encodeFromHelper,
  encodeToHelper,
} from '../../agent/platform/windows/helper-protocol.js';

/** Splits one encoded message into its body, checking the length prefix on the way. */
function bodyOf(chunks: Uint8Array[]): Buffer {
  const all = Buffer.concat(chunks);
  assert.equal(all.readUInt32LE(0), all.length - 4, 'the prefix is the body length');
  return all.subarray(4);
}

function frame(width: number, height: number, fill: (x: number, y: number) => number, stride = width * 4): RawFrame {
  const data = Buffer.alloc(stride * height, 0xee); // padding bytes differ from pixels on purpose
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.writeUInt32LE(fill(x, y) >>> 0, y * stride + x * 4);
  return { width, height, stride, data };
}

/** The pixels only (no stride padding), for comparing frames of different strides. */
function pixels(f: RawFrame): Buffer {
  const out = Buffer.alloc(f.width * f.height * 4);
  const src = Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength);
  for (let y = 0; y < f.height; y++) src.copy(out, y * f.width * 4, y * f.stride, y * f.stride + f.width * 4);
  return out;
}

describe('messages round-trip', () => {
  test('agent -> helper: every type', () => {
    const msgs: ToHelper[] = [
      { type: 'grab', seq: 7, full: true },
      { type: 'grab', seq: 0xffffffff, full: false },
      { type: 'mouse', x: -1920, y: 1079, buttons: 5, wheel: -3 },
      { type: 'key', keyCode: 0x41, down: true, text: '' },
      { type: 'key', keyCode: 0, down: false, text: 'héllo 🙂' },
      { type: 'clearClipboard' },
      { type: 'close' },
    ];
    for (const m of msgs) assert.deepEqual(decodeToHelper(bodyOf(encodeToHelper(m))), { ok: true, value: m });
  });

  test('helper -> agent: hello, failure, log and a frame with rectangles', () => {
    const px = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const msgs: FromHelper[] = [
      { type: 'hello', pid: 4242, sessionId: 3, source: 'dxgi', note: 'node v22, desktop Default' },
      { type: 'failure', seq: 9, code: 'NOT_AVAILABLE', message: 'BitBlt failed (Win32 error 6)' },
      { type: 'failure', seq: 0, code: 'PLATFORM_ERROR', message: '' },
      { type: 'log', text: 'capture: GDI BitBlt, because …' },
      { type: 'frame', seq: 2, width: 4, height: 3, full: false, source: 'gdi', rects: [{ x: 1, y: 2, w: 2, h: 1, data: px }] },
      { type: 'frame', seq: 3, width: 4, height: 3, full: false, source: 'dxgi', rects: [] },
    ];
    for (const m of msgs) {
      const d = decodeFromHelper(bodyOf(encodeFromHelper(m)));
      assert.ok(d.ok, d.ok ? '' : d.error.message);
      assert.deepEqual(JSON.parse(JSON.stringify(d.value)), JSON.parse(JSON.stringify(m)));
    }
  });

  test('frame pixels are passed through without a copy on encode', () => {
    const data = Buffer.alloc(16, 9);
    const chunks = encodeFromHelper({ type: 'frame', seq: 1, width: 2, height: 2, full: true, source: 'gdi', rects: [{ x: 0, y: 0, w: 2, h: 2, data }] });
    assert.ok(chunks.includes(data));
  });
});

describe('malformed input is refused, not guessed at', () => {
  const enc = (m: FromHelper) => bodyOf(encodeFromHelper(m));
  const code = (r: { ok: boolean; error?: { code: string } }) => (r.ok ? 'ok' : r.error?.code);

  test('unknown types and short bodies', () => {
    assert.equal(code(decodeToHelper(Buffer.from([0x7f]))), 'MALFORMED_MESSAGE');
    assert.equal(code(decodeFromHelper(Buffer.from([0x01]))), 'MALFORMED_MESSAGE', 'an agent message type from the helper');
    assert.equal(code(decodeToHelper(Buffer.from([0x02, 1, 2]))), 'MALFORMED_MESSAGE');
    assert.equal(code(decodeFromHelper(Buffer.from([0x81, 1]))), 'MALFORMED_MESSAGE');
  });

  test('a rectangle outside the frame, pixels cut short, bytes left over', () => {
    const px = Buffer.alloc(8);
    assert.equal(code(decodeFromHelper(enc({ type: 'frame', seq: 1, width: 2, height: 2, full: false, source: 'gdi', rects: [{ x: 1, y: 1, w: 2, h: 1, data: px }] }))), 'MALFORMED_MESSAGE');
    const good = enc({ type: 'frame', seq: 1, width: 2, height: 2, full: false, source: 'gdi', rects: [{ x: 0, y: 0, w: 2, h: 1, data: px }] });
    assert.equal(code(decodeFromHelper(good)), 'ok');
    assert.equal(code(decodeFromHelper(good.subarray(0, good.length - 1))), 'MALFORMED_MESSAGE');
    assert.equal(code(decodeFromHelper(Buffer.concat([good, Buffer.from([0])]))), 'MALFORMED_MESSAGE');
  });

  test('an error code that is not ours', () => {
    const b = enc({ type: 'failure', seq: 1, code: 'TIMEOUT', message: 'x' });
    b.write('TIMEOFF', 6, 'latin1');
    assert.equal(code(decodeFromHelper(b)), 'MALFORMED_MESSAGE');
  });

  test('an impossible length prefix breaks the stream for good', () => {
    const s = createMessageSplitter();
    const bad = Buffer.alloc(4);
    bad.writeUInt32LE(MAX_BODY_BYTES + 1);
    assert.equal(code(s.push(bad)), 'MALFORMED_MESSAGE');
    assert.equal(code(s.push(Buffer.concat(encodeToHelper({ type: 'close' })))), 'MALFORMED_MESSAGE');
    assert.equal(code(createMessageSplitter().push(Buffer.alloc(4))), 'MALFORMED_MESSAGE', 'a zero length too');
  });
});

describe('message splitter', () => {
  const arbMsg: fc.Arbitrary<ToHelper> = fc.oneof(
    fc.record({ type: fc.constant('grab' as const), seq: fc.nat(), full: fc.boolean() }),
    fc.record({ type: fc.constant('mouse' as const), x: fc.integer({ min: -5000, max: 5000 }), y: fc.integer({ min: -5000, max: 5000 }), buttons: fc.nat(7), wheel: fc.integer({ min: -5, max: 5 }) }),
    fc.record({ type: fc.constant('key' as const), keyCode: fc.nat(255), down: fc.boolean(), text: fc.string() }),
    fc.constant({ type: 'clearClipboard' as const }),
    fc.constant({ type: 'close' as const }),
  );

  test('any chunking of any message sequence gives back the same messages', () => {
    fc.assert(
      fc.property(fc.array(arbMsg, { maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1 }), (msgs, cuts) => {
        const stream = Buffer.concat(msgs.flatMap((m) => encodeToHelper(m)));
        const s = createMessageSplitter();
        const got: ToHelper[] = [];
        let off = 0;
        for (let i = 0; off < stream.length; i++) {
          const n = cuts[i % cuts.length] as number;
          const r = s.push(stream.subarray(off, off + n));
          off += n;
          assert.ok(r.ok);
          for (const b of r.value) {
            const d = decodeToHelper(b);
            assert.ok(d.ok);
            got.push(d.value);
          }
        }
        assert.deepEqual(
          got,
          msgs.map((m) => ({ ...m })),
        );
      }),
      { numRuns: 200 },
    );
  });
});

describe('changed rectangles', () => {
  test('no previous frame or another size: undefined (send the whole frame)', () => {
    const a = frame(8, 4, () => 1);
    assert.equal(changedRects(undefined, a), undefined);
    assert.equal(
      changedRects(
        frame(8, 5, () => 1),
        a,
      ),
      undefined,
    );
  });

  test('an unchanged frame gives no rectangles, and applying none returns the base itself', () => {
    const a = frame(8, 4, (x, y) => x * y);
    const b = frame(8, 4, (x, y) => x * y);
    assert.deepEqual(changedRects(a, b), []);
    const r = applyRects(a, { width: 8, height: 4, full: false, rects: [] });
    assert.ok(r.ok);
    assert.equal(r.value, a);
  });

  test('one changed pixel gives one small rectangle that holds it', () => {
    const a = frame(200, 50, () => 0x101010);
    const b = frame(200, 50, (x, y) => (x === 150 && y === 20 ? 0xff0000 : 0x101010));
    const rects = changedRects(a, b, { chunkPx: 16 }) ?? [];
    assert.equal(rects.length, 1);
    const r = rects[0];
    assert.ok(r);
    assert.deepEqual({ y: r.y, h: r.h }, { y: 20, h: 1 });
    assert.ok(r.x <= 150 && r.x + r.w > 150 && r.w <= 16, `x ${r.x} w ${r.w}`);
  });

  test("with `into`, the rectangles are packed one after another in it, with the same pixels; a short buffer or a frame's own memory is not written", () => {
    const a = frame(64, 100, () => 0);
    const b = frame(64, 100, (x, y) => ((y === 5 || y === 80) && x < 40 ? 0x00ff00 : 0));
    const fresh = changedRects(a, b) ?? [];
    assert.equal(fresh.length, 2);
    const into = Buffer.alloc(64 * 100 * 4, 0x77);
    const packed = changedRects(a, b, { into }) ?? [];
    assert.deepEqual(
      packed.map((r) => [r.x, r.y, r.w, r.h, Buffer.from(r.data).toString('hex')]),
      fresh.map((r) => [r.x, r.y, r.w, r.h, Buffer.from(r.data).toString('hex')]),
    );
    let at = 0;
    for (const r of packed) {
      assert.equal(r.data.buffer, into.buffer);
      assert.equal(r.data.byteOffset, into.byteOffset + at, 'right after the previous rectangle');
      at += r.data.byteLength;
    }
    const short = Buffer.alloc(at - 1, 0x77);
    for (const other of [short, a.data, b.data]) {
      const r = changedRects(a, b, { into: other }) ?? [];
      assert.ok(r.length === 2 && r.every((x) => x.data.buffer !== other.buffer), 'new buffers instead');
    }
    assert.ok(!short.some((v) => v !== 0x77), 'the short buffer is untouched');
  });

  test('changes far apart vertically become separate rectangles; close ones merge', () => {
    const a = frame(64, 100, () => 0);
    const b = frame(64, 100, (x, y) => ((y === 5 || y === 9 || y === 80) && x < 4 ? 1 : 0));
    const rects = changedRects(a, b, { mergeGapRows: 8 }) ?? [];
    assert.deepEqual(
      rects.map((r) => [r.y, r.h]),
      [
        [5, 5],
        [80, 1],
      ],
    );
  });

  test('property: applying the changes to the previous frame gives the next frame, any stride', () => {
    const arb = fc.record({
      w: fc.integer({ min: 1, max: 40 }),
      h: fc.integer({ min: 1, max: 30 }),
      pad: fc.integer({ min: 0, max: 3 }),
      seedA: fc.nat(),
      edits: fc.array(fc.record({ x: fc.nat(), y: fc.nat(), v: fc.nat() }), { maxLength: 12 }),
      chunkPx: fc.integer({ min: 1, max: 64 }),
      gap: fc.integer({ min: 0, max: 10 }),
    });
    fc.assert(
      fc.property(arb, ({ w, h, pad, seedA, edits, chunkPx, gap }) => {
        const base = (x: number, y: number) => (x * 31 + y * 17 + seedA) & 0xffffff;
        const prev = frame(w, h, base, (w + pad) * 4);
        const changed = new Map(edits.map((e) => [`${e.x % w},${e.y % h}`, e.v]));
        const next = frame(w, h, (x, y) => changed.get(`${x},${y}`) ?? base(x, y), (w + pad) * 4);
        const rects = changedRects(prev, next, { chunkPx, mergeGapRows: gap });
        assert.ok(rects);
        // What the agent holds is packed: rebuild from a packed copy of prev, as it would.
        const held = { width: w, height: h, stride: w * 4, data: pixels(prev) };
        const r = applyRects(held, { width: w, height: h, full: false, rects });
        assert.ok(r.ok);
        assert.deepEqual(pixels(r.value), pixels(next));
        if (rects.length) {
          assert.notEqual(r.value.data, held.data, 'the base is never written over when something changed');
          assert.notDeepEqual(pixels(held), pixels(next), 'rectangles only when something changed');
        } else {
          assert.deepEqual(pixels(prev), pixels(next));
        }
      }),
      { numRuns: 300 },
    );
  });

  test('the whole frame travels packed; a full message needs no base', () => {
    const f = frame(5, 3, (x, y) => x + 10 * y, 7 * 4);
    const whole = wholeFrame(f);
    assert.equal(whole.data.length, 5 * 3 * 4);
    const r = applyRects(undefined, { width: 5, height: 3, full: true, rects: [whole] });
    assert.ok(r.ok);
    assert.equal(r.value.stride, 20);
    assert.deepEqual(pixels(r.value), pixels(f));
  });

  test('the rebuilt frame goes into a recycled frame of the right size; never into the base, nor another size', () => {
    const W = 40;
    const H = 9;
    const prev = frame(W, H, (x, y) => x + 100 * y, (W + 3) * 4);
    const next = frame(W, H, (x, y) => (x === 7 && y === 4 ? 0xabcdef : x + 100 * y), (W + 3) * 4);
    const rects = changedRects(prev, next) ?? [];
    assert.ok(rects.length > 0);
    for (const heldStride of [W * 4, (W + 3) * 4]) {
      const held = heldStride === W * 4 ? { width: W, height: H, stride: W * 4, data: pixels(prev) } : prev;
      const heldBytes = Buffer.from(held.data);
      const spare: RawFrame = { width: W, height: H, stride: W * 4, data: Buffer.alloc(W * H * 4, 0x77) };
      const r = applyRects(held, { width: W, height: H, full: false, rects }, spare);
      assert.ok(r.ok);
      assert.equal(r.value.data, spare.data, 'the recycled buffer');
      assert.equal(r.value.stride, W * 4);
      assert.ok(pixels(r.value).equals(pixels(next)));
      assert.ok(Buffer.from(held.data).equals(heldBytes), 'the base is untouched');
      // The base offered back (the caller got it twice): a new buffer, the base untouched.
      const self = applyRects(held, { width: W, height: H, full: false, rects }, held);
      assert.ok(self.ok);
      assert.notEqual(self.value.data, held.data);
      assert.ok(pixels(self.value).equals(pixels(next)));
      assert.ok(Buffer.from(held.data).equals(heldBytes), 'the base offered back is untouched');
      const small: RawFrame = { width: W - 1, height: H, stride: (W - 1) * 4, data: Buffer.alloc((W - 1) * H * 4, 0x77) };
      const other = applyRects(held, { width: W, height: H, full: false, rects }, small);
      assert.ok(other.ok);
      assert.notEqual(other.value.data, small.data);
      assert.ok(!Buffer.from(small.data).some((v) => v !== 0x77), 'another size is left alone');
      assert.ok(pixels(other.value).equals(pixels(next)));
    }
    // A full message in several rectangles: the recycled buffer is cleared first (no old pixels between rectangles).
    const spare: RawFrame = { width: 4, height: 2, stride: 16, data: Buffer.alloc(32, 0x77) };
    const full = applyRects(undefined, { width: 4, height: 2, full: true, rects: [{ x: 0, y: 0, w: 2, h: 1, data: Buffer.alloc(8, 1) }] }, spare);
    assert.ok(full.ok);
    assert.equal(full.value.data, spare.data);
    assert.deepEqual([...full.value.data], [...Array(8).fill(1), ...Array(24).fill(0)]);
  });

  test('a delta without a base of the same size is refused', () => {
    const r = applyRects(
      frame(4, 4, () => 0),
      { width: 5, height: 4, full: false, rects: [] },
    );
    assert.equal(r.ok, false);
  });

  test('measured: a 100x100 square moving on a 1920x1080 screen sends a small fraction of the frame', (t) => {
    const W = 1920;
    const H = 1080;
    const at = (sx: number) => frame(W, H, (x, y) => (x >= sx && x < sx + 100 && y >= 400 && y < 500 ? 0xff0000 : 0x204060));
    const prev = at(600);
    const next = at(620);
    const rects = changedRects(prev, next) ?? [];
    const bytes = (chunks: Uint8Array[]) => chunks.reduce((n, c) => n + c.length, 0);
    const delta = bytes(encodeFromHelper({ type: 'frame', seq: 1, width: W, height: H, full: false, source: 'gdi', rects }));
    const full = bytes(encodeFromHelper({ type: 'frame', seq: 1, width: W, height: H, full: true, source: 'gdi', rects: [wholeFrame(next)] }));
    t.diagnostic(`moving square: ${delta} bytes per frame with changed rectangles, ${full} for the whole frame (${((100 * delta) / full).toFixed(2)} %)`);
    assert.equal(full, W * H * 4 + 5 + 18 + 16);
    assert.ok(delta < full / 50, `delta ${delta} bytes`);
    const r = applyRects({ ...prev, data: pixels(prev) }, { width: W, height: H, full: false, rects });
    assert.ok(r.ok);
    assert.ok(pixels(r.value).equals(pixels(next)));
  });
});

describe('helper command line', () => {
  /** The C runtime's argv rules (what node.exe uses), for arguments after the program. */
  function parseArgs(line: string): string[] {
    const out: string[] = [];
    let i = 0;
    while (i < line.length) {
      while (line[i] === ' ' || line[i] === '\t') i++;
      if (i >= line.length) break;
      let arg = '';
      let quoted = false;
      for (; i < line.length; i++) {
        const ch = line[i];
        if (!quoted && (ch === ' ' || ch === '\t')) break;
        if (ch === '\\') {
          let n = 0;
          while (line[i] === '\\') {
            n++;
            i++;
          }
          if (line[i] === '"') {
            arg += '\\'.repeat(Math.floor(n / 2));
            if (n % 2) arg += '"';
            else quoted = !quoted;
          } else {
            arg += '\\'.repeat(n);
            i--;
          }
          continue;
        }
        if (ch === '"') {
          quoted = !quoted;
          continue;
        }
        arg += ch;
      }
      out.push(arg);
    }
    return out;
  }

  test('paths with spaces, quotes and trailing backslashes survive quoting', () => {
    const args = ['C:\\Program Files\\GuruConnect\\agent.mjs', 'a"b', 'C:\\dir with space\\', '', 'plain', SESSION_HELPER_FLAG];
    const line = commandLine('C:\\Program Files\\nodejs\\node.exe', args);
    assert.ok(line.startsWith('"C:\\Program Files\\nodejs\\node.exe" '));
    assert.deepEqual(parseArgs(line.slice(line.indexOf('.exe" ') + 6)), args);
    assert.equal(quoteArg('plain'), 'plain');
  });

  test('property: any arguments round-trip through the C runtime rules', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: fc.constantFrom('a', ' ', '"', '\\', '\t', 'é') }), { maxLength: 6 }), (args) => {
        assert.deepEqual(parseArgs(args.map(quoteArg).join(' ')), args);
      }),
      { numRuns: 500 },
    );
  });

  test('the default re-runs the entry script with the flag, keeping loaders, dropping test-runner options', () => {
    assert.deepEqual(defaultHelperArgs(['--import', 'tsx', '--test-reporter', 'spec', '--test-concurrency=1', '--enable-source-maps'], 'C:\\a\\main.mjs'), [
      '--import',
      'tsx',
      '--enable-source-maps',
      'C:\\a\\main.mjs',
      SESSION_HELPER_FLAG,
    ]);
    assert.ok(isSessionHelperInvocation(['node.exe', 'main.mjs', SESSION_HELPER_FLAG]));
    assert.equal(isSessionHelperInvocation(['node.exe', SESSION_HELPER_FLAG]), false, 'the flag as the script itself does not count');
    assert.equal(isSessionHelperInvocation(['node.exe', 'main.mjs']), false);
  });

  test('run from source, the agent starts the standalone helper entry beside the module (no DLL is loaded to find it)', () => {
    const args = helperArgs();
    assert.equal(args.at(-1), SESSION_HELPER_FLAG);
    assert.match(args.at(-2) ?? '', /agent[\\/]platform[\\/]windows[\\/]session-helper[\\/]main\.ts$/);
  });
});
