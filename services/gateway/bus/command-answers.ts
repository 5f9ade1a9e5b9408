/**
 * The answers to one command as an async iterator (nats.js style): live delivery on the gateway's
 * core subscription merged with a replay of the event stream after each reconnect (answers an
 * agent published while this gateway was deaf), each answer once. It ends when its signal aborts
 * or it is closed; `close()` detaches everything it attached, the abort listener included.
 */
import type { Decoded } from '../../../proto/codec.js';

/** Where answers come from; the real ones are agent-events.ts and answer-replay.ts, tests pass fakes. */
export interface AnswerSources {
  /** Calls `fn` for every live event correlated to `commandId` until the returned function is called. */
  live(commandId: string, fn: (m: Decoded) => void): () => void;
  /** Calls `fn` after every reconnect of this gateway to NATS until the returned function is called. */
  onReconnect(fn: () => void): () => void;
  /** Hands over the stored answers to `commandId` after stream sequence `fromSeq`; never rejects. */
  replay(commandId: string, fromSeq: number, fn: (m: Decoded) => void): Promise<void>;
}

export interface AnswerStream extends AsyncIterable<Decoded> {
  /** The command's stream sequence: from now on a reconnect replays the stream from there. */
  replayFrom(seq: number): void;
  /** True when more than `maxBuffered` answers waited unread and the stream stopped. */
  readonly overflowed: boolean;
  close(): void;
}

/** More answers than this waiting unread means the consumer is stuck: stop instead of buffering without bound. */
export const MAX_BUFFERED_ANSWERS = 10_000;

export function answerStream(src: AnswerSources, commandId: string, signal: AbortSignal, maxBuffered = MAX_BUFFERED_ANSWERS): AnswerStream {
  const queue: Decoded[] = [];
  const seen = new Set<string>();
  let wake: (() => void) | undefined;
  let closed = false;
  let overflowed = false;
  let fromSeq: number | undefined;
  let reconnectedEarly = false;

  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const push = (m: Decoded) => {
    // Live delivery and a replay may both bring an answer: each counts once.
    if (closed || seen.has(m.meta.id)) return;
    seen.add(m.meta.id);
    if (queue.length >= maxBuffered) {
      overflowed = true;
      return close();
    }
    queue.push(m);
    notify();
  };
  const replay = () => {
    if (fromSeq === undefined) {
      reconnectedEarly = true;
      return;
    }
    void src.replay(commandId, fromSeq, push);
  };
  const unlisten = src.live(commandId, push);
  const unlistenReconnect = src.onReconnect(replay);
  const onAbort = () => close();
  signal.addEventListener('abort', onAbort, { once: true });

  function close() {
    if (closed) return;
    closed = true;
    unlisten();
    unlistenReconnect();
    signal.removeEventListener('abort', onAbort);
    notify();
  }
  if (signal.aborted) close();

  return {
    get overflowed() {
      return overflowed;
    },
    replayFrom(seq) {
      fromSeq = seq;
      // A reconnect between listening and the publish ack may have cost us an answer.
      if (reconnectedEarly && !closed) void src.replay(commandId, seq, push);
    },
    close,
    async *[Symbol.asyncIterator]() {
      try {
        for (;;) {
          const m = queue.shift();
          if (m) {
            yield m;
            continue;
          }
          if (closed) return;
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
      } finally {
        close();
      }
    },
  };
}
