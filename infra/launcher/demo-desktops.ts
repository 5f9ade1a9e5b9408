/**
 * `--demo`: two desktops to try the live view on a headless machine. Each is an Xvfb display owned by
 * its own demo user (gc-demo-alice, gc-demo-bob), so the local agent lists two sessions of two users;
 * each shows its owner's name, a ticking clock and a moving square, so a switch and a live frame are easy to see.
 */
import { xlib } from '../../agent/platform/linux/x11/xlib.js';
import { startMovingSquare } from '../servers/moving-square.js';
import { startUserDisplays } from '../servers/x-displays.js';

const DEMO = [
  { user: 'gc-demo-alice', color: '#2f6f9f', rgb: 0x2f6f9fn },
  { user: 'gc-demo-bob', color: '#8f4f2f', rgb: 0x8f4f2fn },
] as const;

export interface DemoDesktops {
  /** DISPLAY names, e.g. ":3". */
  readonly names: string[];
  stop(): Promise<void>;
}

/** Starts the demo desktops; needs root (it creates the demo users). */
export async function startDemoDesktops(): Promise<DemoDesktops> {
  if (process.getuid?.() !== 0) throw new Error('--demo creates two local users and their X displays: run it as root');
  const x = xlib();
  if (!x.ok) throw new Error(x.reason);
  const l = x.lib;
  const started = await startUserDisplays(
    DEMO.map((d) => d.user),
    { width: 1280, height: 800, colors: DEMO.map((d) => d.color) },
  );
  const painters = started.displays.map((d, i) => {
    const dpy = l.XOpenDisplay(d.name) as bigint;
    const root = l.XDefaultRootWindow(dpy);
    const gc = l.XCreateGC(dpy, root, 0n, null);
    const bg = DEMO[i]?.rgb ?? 0n;
    const label = () => {
      const text = `${d.user}'s desktop on ${d.name} - ${new Date().toLocaleTimeString('en-GB')}`;
      l.XSetForeground(dpy, gc, 0xffffffn);
      l.XSetBackground(dpy, gc, bg);
      l.XDrawImageString(dpy, root, gc, 40, 60, text, Buffer.byteLength(text));
      l.XFlush(dpy);
    };
    label();
    const clock = setInterval(label, 1000);
    // Something always moves, as on a real desktop (slower than the benches' square).
    const mover = startMovingSquare(l, dpy, root, gc, { width: 1280, height: 800, box: 40, background: bg, everyMs: 100 });
    return () => {
      clearInterval(clock);
      clearInterval(mover);
      l.XFreeGC(dpy, gc);
      l.XCloseDisplay(dpy);
    };
  });
  return {
    names: started.displays.map((d) => d.name),
    async stop() {
      for (const p of painters) p();
      await started.stop();
    },
  };
}
