/** Browser keyboard events to X keysyms (the agent maps them to virtual keys on Windows). */

const SPECIAL: Record<string, number> = {
  Enter: 0xff0d,
  Backspace: 0xff08,
  Tab: 0xff09,
  Escape: 0xff1b,
  Delete: 0xffff,
  Insert: 0xff63,
  Home: 0xff50,
  End: 0xff57,
  PageUp: 0xff55,
  PageDown: 0xff56,
  ArrowLeft: 0xff51,
  ArrowUp: 0xff52,
  ArrowRight: 0xff53,
  ArrowDown: 0xff54,
  CapsLock: 0xffe5,
  NumLock: 0xff7f,
  ScrollLock: 0xff14,
  Pause: 0xff13,
  PrintScreen: 0xff61,
  ContextMenu: 0xff67,
  ' ': 0x20,
};
const LEFT_RIGHT: Record<string, [number, number]> = {
  Shift: [0xffe1, 0xffe2],
  Control: [0xffe3, 0xffe4],
  Alt: [0xffe9, 0xffea],
  Meta: [0xffeb, 0xffec],
  AltGraph: [0xfe03, 0xfe03],
};

/** Keysym of a single character: Latin-1 maps directly, the rest to 0x01000000 + code point. */
export function keysymOfChar(ch: string): number {
  const cp = ch.codePointAt(0) ?? 0;
  return cp <= 0xff ? cp : 0x01000000 + cp;
}

/** Keysym for a KeyboardEvent (`key` and `location`), or undefined when unknown. */
export function keysymOf(e: { key: string; location: number }): number | undefined {
  const lr = LEFT_RIGHT[e.key];
  if (lr) return e.location === 2 ? lr[1] : lr[0];
  const special = SPECIAL[e.key];
  if (special !== undefined) return special;
  const f = /^F([1-9]|1[0-9]|2[0-4])$/.exec(e.key);
  if (f) return 0xffbe + Number(f[1]) - 1;
  if ([...e.key].length === 1) return keysymOfChar(e.key);
  return undefined;
}

/** Whether the event types a character (sent as text, so the remote layout does not matter). */
export function isTyping(e: { key: string; ctrlKey: boolean; altKey: boolean; metaKey: boolean }): boolean {
  return [...e.key].length === 1 && !e.ctrlKey && !e.altKey && !e.metaKey;
}
