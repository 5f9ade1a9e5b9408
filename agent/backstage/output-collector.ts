/**
 * Turns a command's raw stdout/stderr bytes into ordered text chunks: coalesced per stream
 * (flushed after `coalesceMs` or `coalesceBytes`), decoded in streaming mode so a multi-byte
 * character split across reads survives, and capped at `capBytes` of emitted output in total,
 * after which one marker chunk is emitted and the rest is only counted.
 */

export type StreamName = 'stdout' | 'stderr';
export interface OutputChunk {
  stream: StreamName;
  data: string;
  seq: number;
}

export interface CollectorOptions {
  encoding: string;
  capBytes: number;
  coalesceMs?: number;
  coalesceBytes?: number;
}

/** "100 KB" for whole kilobytes, else bytes. */
function formatCap(bytes: number): string {
  return bytes % 1024 === 0 ? `${bytes / 1024} KB` : `${bytes} bytes`;
}

export function truncationMarker(capBytes: number): string {
  return `\n[output truncated: ${formatCap(capBytes)} limit reached]\n`;
}

interface StreamState {
  decoder: TextDecoder;
  pending: Uint8Array[];
  pendingBytes: number;
  text: string[];
}

/** One command's output pipeline; call `push` for every read, `finish` once the process is done. */
export class OutputCollector {
  private readonly streams: Record<StreamName, StreamState>;
  private readonly coalesceMs: number;
  private readonly coalesceBytes: number;
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;
  private emittedBytes = 0;
  private finished = false;
  /** Bytes the command produced, counted past the cap too. */
  producedBytes = 0;
  truncated = false;

  constructor(
    private readonly opts: CollectorOptions,
    private readonly onChunk: (c: OutputChunk) => void,
  ) {
    this.coalesceMs = opts.coalesceMs ?? 50;
    this.coalesceBytes = opts.coalesceBytes ?? 16 * 1024;
    const mk = (): StreamState => ({ decoder: new TextDecoder(opts.encoding), pending: [], pendingBytes: 0, text: [] });
    this.streams = { stdout: mk(), stderr: mk() };
  }

  push(stream: StreamName, bytes: Uint8Array): void {
    if (this.finished) return;
    this.producedBytes += bytes.length;
    if (this.truncated) return;
    const room = this.opts.capBytes - this.emittedBytes;
    const take = bytes.length <= room ? bytes : bytes.subarray(0, room);
    const s = this.streams[stream];
    if (take.length) {
      s.pending.push(take);
      s.pendingBytes += take.length;
      this.emittedBytes += take.length;
    }
    if (take.length < bytes.length) {
      this.truncated = true;
      this.flushAll(false);
      // Cut mid-character is dropped: the decoders are never flushed after truncation.
      this.emit('stdout', truncationMarker(this.opts.capBytes));
      return;
    }
    if (s.pendingBytes >= this.coalesceBytes) this.flush(stream, false);
    else this.timer ??= setTimeout(() => this.flushAll(false), this.coalesceMs);
  }

  /** Emits what is pending and any bytes held back by the decoders; no output after this. */
  finish(): void {
    if (this.finished) return;
    this.flushAll(!this.truncated);
    this.finished = true;
  }

  /** The emitted text per stream (capped, marker included on stdout). */
  text(stream: StreamName): string {
    return this.streams[stream].text.join('');
  }

  private flushAll(final: boolean): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.flush('stdout', final);
    this.flush('stderr', final);
  }

  private flush(stream: StreamName, final: boolean): void {
    const s = this.streams[stream];
    const bytes = s.pending.length === 1 ? s.pending[0]! : Buffer.concat(s.pending);
    s.pending = [];
    s.pendingBytes = 0;
    const data = s.decoder.decode(bytes, { stream: !final });
    if (data) this.emit(stream, data);
  }

  private emit(stream: StreamName, data: string): void {
    this.streams[stream].text.push(data);
    this.onChunk({ stream, data, seq: this.seq++ });
  }
}
