/**
 * The session helper: a node.exe the agent starts inside a user's session (with the agent's SYSTEM
 * token, so it can also reach the lock screen and UAC desktops). It captures that session's input
 * desktop and injects input there, talking to the agent over stdin/stdout (helper-protocol.ts).
 * stdout carries only protocol messages: console output becomes `log` messages.
 * It exits when the agent says close, when stdin ends (the agent closed the pipe or died), and with
 * the agent's job object (kill on close).
 */
import type { Readable, Writable } from 'node:stream';
import { ErrorCode } from '../../../../proto/errors.js';
import type { RawFrame } from '../../port.js';
import { frameBuffer } from '../../frame-buffer.js';
import { createInputInjector, type FollowedCapture, openFollowedCapture } from '../desktop.js';
import { changedRects, wholeFrame } from '../helper-frame-delta.js';
import { isSessionHelperInvocation } from '../helper-command-line.js';
import { createMessageSplitter, decodeToHelper, encodeFromHelper, type FrameRect, type FromHelper, type ToHelper } from '../helper-protocol.js';
import { win32 } from '../win32-api.js';

export interface HelperIo {
  stdin: Readable;
  stdout: Writable;
}

function ownSession(): number {
  const w = win32();
  const out = Buffer.alloc(4);
  return w.ProcessIdToSessionId(w.GetCurrentProcessId(), out) ? out.readUInt32LE(0) : 0xffffffff;
}

/** Runs the helper until the agent closes it or goes away; resolves when done (the caller exits). */
export async function runSessionHelper(io: HelperIo = { stdin: process.stdin, stdout: process.stdout }): Promise<void> {
  let writing = Promise.resolve();
  /**
   * Resolves once the message is written out (the last chunk's callback), not when it is queued: a
   * whole frame travels as a view of the frame's buffer, which a later grab refills (`spare` below).
   * A failed write resolves too: the pipe is gone and stdin ends with it.
   */
  const send = (m: FromHelper): Promise<void> => {
    // Chained: a frame's chunks must not interleave with a log line written meanwhile.
    writing = writing.then(
      () =>
        new Promise<void>((resolve) => {
          const chunks = encodeFromHelper(m);
          const last = chunks.length - 1;
          for (let i = 0; i < last; i++) io.stdout.write(chunks[i] as Uint8Array);
          if (last < 0) resolve();
          else io.stdout.write(chunks[last] as Uint8Array, () => resolve());
        }),
    );
    return writing;
  };
  const log = (text: string) => void send({ type: 'log', text });
  for (const k of ['log', 'info', 'warn', 'error', 'debug'] as const) console[k] = (...a: unknown[]) => log(a.map(String).join(' '));

  let capture: FollowedCapture | undefined;
  let openError = '';
  const ensureCapture = (): FollowedCapture | undefined => {
    if (capture) return capture;
    const c = openFollowedCapture(log);
    if (c.ok) {
      capture = c.value;
      capture.capture.prepare(); // so the hello tells the real path, and why DXGI is not used
    } else openError = c.error.message;
    return capture;
  };
  ensureCapture();
  const input = createInputInjector();
  let lastInputError = '';
  const inputResult = (r: { ok: boolean; error?: { code: ErrorCode; message: string } }) => {
    // Reported once per distinct failure: the agent cannot wait for an answer per mouse move.
    const msg = r.ok ? '' : (r.error?.message ?? '');
    if (msg && msg !== lastInputError && r.error) void send({ type: 'failure', seq: 0, code: r.error.code, message: msg });
    lastInputError = msg;
  };

  let prevSent: RawFrame | undefined;
  /** The frame sent before `prevSent`: diffed against already and its message written out, so the next grab refills its buffer. */
  let spare: RawFrame | undefined;
  /** The changed areas of the last frame sent, packed; its message is written out, so the next delta refills it. */
  let areas: RawFrame | undefined;
  /** What changed since `prev`, packed into `areas`; undefined: the whole frame goes. */
  const delta = (prev: RawFrame | undefined, frame: RawFrame): FrameRect[] | undefined => {
    if (frame === prev) return [];
    if (prev?.width !== frame.width || prev.height !== frame.height) return undefined;
    // Rectangles never share a row, so a frame's bytes hold any delta of it; frameBuffer decides reuse.
    areas = { width: frame.width, height: frame.height, stride: frame.width * 4, data: frameBuffer(areas, frame.width * frame.height * 4, frame.data, prev.data) };
    return changedRects(prev, frame, { into: areas.data });
  };
  const grab = async (seq: number, full: boolean) => {
    const c = ensureCapture();
    if (!c) return send({ type: 'failure', seq, code: ErrorCode.NOT_AVAILABLE, message: openError });
    const g = await c.grab(spare);
    if (!g.ok) return send({ type: 'failure', seq, code: g.error.code, message: g.error.message });
    const { frame, source } = g.value;
    const rects = full ? undefined : delta(prevSent, frame);
    if (frame !== prevSent) {
      spare = prevSent;
      prevSent = frame;
    }
    const whole = rects === undefined;
    return send({ type: 'frame', seq, width: frame.width, height: frame.height, full: whole, source, rects: whole ? [wholeFrame(frame)] : rects });
  };

  await send({
    type: 'hello',
    pid: process.pid,
    sessionId: ownSession(),
    source: capture?.capture.source ?? 'gdi',
    note: capture ? `node ${process.version}, desktop ${capture.follower.name}` : `no desktop yet: ${openError}`,
  });

  const handle = async (m: ToHelper): Promise<boolean> => {
    switch (m.type) {
      case 'grab':
        await grab(m.seq, m.full);
        return true;
      case 'mouse':
        inputResult(input.mouse({ x: m.x, y: m.y, buttons: m.buttons, wheel: m.wheel }));
        return true;
      case 'key':
        inputResult(input.key({ keyCode: m.keyCode, down: m.down, text: m.text }));
        return true;
      case 'clearClipboard':
        inputResult(input.clearClipboard());
        return true;
      case 'close':
        return false;
    }
  };

  const splitter = createMessageSplitter();
  try {
    for await (const chunk of io.stdin as AsyncIterable<Buffer>) {
      const bodies = splitter.push(chunk);
      if (!bodies.ok) {
        log(bodies.error.message);
        return;
      }
      for (const body of bodies.value) {
        const m = decodeToHelper(body);
        if (!m.ok) {
          log(m.error.message);
          return;
        }
        if (!(await handle(m.value))) return;
      }
    }
  } finally {
    capture?.close();
    await writing.catch(() => {});
  }
}

/** Runs the helper and exits when this process was started with `--gc-session-helper`; else returns false. */
export async function runSessionHelperIfAsked(argv: readonly string[] = process.argv): Promise<boolean> {
  if (!isSessionHelperInvocation(argv)) return false;
  process.on('uncaughtException', (e) => {
    process.stderr.write(`session helper: ${e.stack ?? e}\n`);
    process.exit(70);
  });
  await runSessionHelper();
  process.exit(0);
}
