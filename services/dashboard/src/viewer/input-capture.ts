/** Mouse and keyboard on the canvas, scaled to the remote resolution, as viewer `input` messages. */
import { isTyping, keysymOf } from './keysyms.js';

export interface InputSink {
  mouse(m: { x: number; y: number; buttons: number; wheel?: number }): void;
  key(k: { key_code?: number; down?: boolean; text?: string }): void;
}

/** Listens on `canvas` while `enabled()` is true; returns a function that removes the listeners. */
export function captureInput(canvas: HTMLCanvasElement, enabled: () => boolean, sink: InputSink): () => void {
  let pendingMove: { x: number; y: number; buttons: number } | undefined;
  let raf = 0;
  const toRemote = (e: MouseEvent) => {
    const r = canvas.getBoundingClientRect();
    const x = Math.round(((e.clientX - r.left) / Math.max(1, r.width)) * canvas.width);
    const y = Math.round(((e.clientY - r.top) / Math.max(1, r.height)) * canvas.height);
    return { x: Math.max(0, Math.min(canvas.width - 1, x)), y: Math.max(0, Math.min(canvas.height - 1, y)), buttons: e.buttons & 7 };
  };
  // Moves are coalesced to one per animation frame; presses go out at once (after any pending move).
  const flushMove = () => {
    raf = 0;
    if (pendingMove) sink.mouse(pendingMove);
    pendingMove = undefined;
  };
  const onMove = (e: MouseEvent) => {
    if (!enabled()) return;
    pendingMove = toRemote(e);
    raf ||= requestAnimationFrame(flushMove);
  };
  const onButton = (e: MouseEvent) => {
    if (!enabled()) return;
    e.preventDefault();
    if (e.type === 'mousedown') canvas.focus();
    flushMove();
    sink.mouse(toRemote(e));
  };
  const onWheel = (e: WheelEvent) => {
    if (!enabled()) return;
    e.preventDefault();
    if (e.deltaY === 0) return;
    // 120 per notch, positive scrolls up (Windows WHEEL_DELTA, as the agent expects).
    sink.mouse({ ...toRemote(e), wheel: -Math.sign(e.deltaY) * 120 });
  };
  const onKey = (e: KeyboardEvent) => {
    if (!enabled()) return;
    e.preventDefault();
    if (isTyping(e)) {
      if (e.type === 'keydown') sink.key({ text: e.key });
      return;
    }
    const sym = keysymOf(e);
    if (sym !== undefined) sink.key({ key_code: sym, down: e.type === 'keydown' });
  };
  const onContext = (e: Event) => enabled() && e.preventDefault();
  const listeners: [string, EventListener, AddEventListenerOptions?][] = [
    ['mousemove', onMove as EventListener],
    ['mousedown', onButton as EventListener],
    ['mouseup', onButton as EventListener],
    ['wheel', onWheel as EventListener, { passive: false }],
    ['keydown', onKey as EventListener],
    ['keyup', onKey as EventListener],
    ['contextmenu', onContext],
  ];
  for (const [t, fn, o] of listeners) canvas.addEventListener(t, fn, o);
  return () => {
    cancelAnimationFrame(raf);
    for (const [t, fn] of listeners) canvas.removeEventListener(t, fn);
  };
}
