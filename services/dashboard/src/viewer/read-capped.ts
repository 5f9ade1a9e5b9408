/**
 * Reads a byte stream whole, but no further than `cap` bytes: past it, the stream is cancelled and
 * nothing is returned. Raw tiles arrive DEFLATE-compressed from the agent, and a hostile (or broken)
 * agent can send a megabyte that inflates to gigabytes; reading it whole before checking its size let
 * one message take a technician's tab down. With the cap, at most `cap` bytes are ever held.
 */
export async function readCapped(stream: ReadableStream<Uint8Array>, cap: number): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > cap) {
        await reader.cancel().catch(() => {});
        return undefined;
      }
      chunks.push(value);
    }
  } catch {
    return undefined;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
