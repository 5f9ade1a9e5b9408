/**
 * One JSON POST over node:http / node:https. Not `fetch`: undici's connect fails under Wine
 * ("connect UNKNOWN", seen with node.exe 20 on Wine 8) while node:http works, and the installer is
 * tested there. Bodies are capped: the answer is a small JSON document.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

const MAX_REPLY_BYTES = 256 * 1024;

/** POSTs `body` as JSON; resolves to the status and the parsed reply (undefined when not JSON). */
export function postJson(url: URL, body: unknown, timeoutMs = 30_000): Promise<{ status: number; body: unknown }> {
  const data = Buffer.from(JSON.stringify(body));
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': data.length }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_REPLY_BYTES) req.destroy(new Error(`reply larger than ${MAX_REPLY_BYTES} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {}
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(data);
  });
}
