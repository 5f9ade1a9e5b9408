/**
 * Raw HTTP/1.1 over a TCP socket, for requests that fetch would refuse or normalise (NUL and
 * overlong paths, malformed percent-escapes, oversized headers, wrong content types).
 */
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends `request` as it is and reads the answer until the server closes the connection. */
export function rawHttp(port: number, request: string | Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1');
    const done = () => {
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      if (split < 0) return reject(new Error(`no HTTP answer (${all.length} bytes): ${all.toString('latin1').slice(0, 200)}`));
      const [statusLine = '', ...lines] = all.subarray(0, split).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      let body: Buffer = all.subarray(split + 4);
      if (headers['transfer-encoding'] === 'chunked') body = unchunk(body);
      else if (headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']));
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: body.toString('utf8') });
    };
    socket.on('data', (d) => chunks.push(d));
    socket.on('end', done);
    // The server may answer and close while a large request is still being written (EPIPE, ECONNRESET).
    socket.on('error', () => (chunks.length ? done() : reject(new Error('connection failed before any answer'))));
    socket.setTimeout(30_000, () => socket.destroy(new Error('no answer in 30 s')));
    socket.write(request);
  });
}

function unchunk(b: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = b.indexOf('\r\n', at);
    if (eol < 0) break;
    const n = Number.parseInt(b.subarray(at, eol).toString('latin1'), 16);
    if (!n) break;
    out.push(b.subarray(eol + 2, eol + 2 + n));
    at = eol + 2 + n + 2;
  }
  return Buffer.concat(out);
}

/** A request with `Connection: close`; a body gets its Content-Length (bytes, not characters). */
export function rawRequest(method: string, path: string, opts: { headers?: Record<string, string>; body?: string | Buffer } = {}): Buffer {
  const body = opts.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body, 'utf8');
  const headers: Record<string, string> = { host: '127.0.0.1', connection: 'close', ...opts.headers };
  if (opts.body !== undefined) headers['content-length'] = String(body.length);
  const head = `${method} ${path} HTTP/1.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}
