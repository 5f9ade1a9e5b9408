/**
 * HTTPS for the local stack's gateway (issue 16 item 2). An operator's certificate
 * (GC_HTTPS_CERT / GC_HTTPS_KEY) is used as given; with GC_HTTPS=1 and none given, a self-signed one
 * for 127.0.0.1 and localhost is made once in <dataDir>/https (openssl, EC P-256, key 0600) and
 * renewed when it is within a month of expiry. Plain HTTP on loopback stays the default: a browser,
 * Node's fetch and Chromium under test refuse a self-signed certificate unless told to trust it.
 */
import { execFile } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface GatewayHttps {
  /** Environment for the gateway process (GC_HTTPS_CERT, GC_HTTPS_KEY). */
  env: { GC_HTTPS_CERT: string; GC_HTTPS_KEY: string };
  certFile: string;
  /** Set when the launcher made the certificate: what the person starting the stack must know. */
  note?: string;
}

/** What the environment asks for: the operator's files, a generated certificate, or plain HTTP (undefined). */
export async function prepareGatewayHttps(dataDir: string, env: NodeJS.ProcessEnv): Promise<GatewayHttps | undefined> {
  if (env.GC_HTTPS_CERT || env.GC_HTTPS_KEY) {
    if (!env.GC_HTTPS_CERT || !env.GC_HTTPS_KEY) throw new Error('give both GC_HTTPS_CERT and GC_HTTPS_KEY, or neither');
    return { env: { GC_HTTPS_CERT: env.GC_HTTPS_CERT, GC_HTTPS_KEY: env.GC_HTTPS_KEY }, certFile: env.GC_HTTPS_CERT };
  }
  if (env.GC_HTTPS !== '1') return undefined;
  const dir = join(dataDir, 'https');
  const certFile = join(dir, 'gateway.crt');
  const keyFile = join(dir, 'gateway.key');
  if (!existsSync(certFile) || !existsSync(keyFile) || expiresWithin(certFile, 30)) await makeSelfSigned(dir, certFile, keyFile);
  const fp = fingerprint(certFile);
  return {
    env: { GC_HTTPS_CERT: certFile, GC_HTTPS_KEY: keyFile },
    certFile,
    note: `HTTPS with a self-signed certificate (${certFile}, SHA-256 ${fp}): browsers warn until you trust it; ` + 'compare the fingerprint, or set GC_HTTPS_CERT/GC_HTTPS_KEY to a real certificate',
  };
}

function expiresWithin(certFile: string, days: number): boolean {
  try {
    return new Date(new X509Certificate(readFileSync(certFile)).validTo).getTime() < Date.now() + days * 86_400_000;
  } catch {
    return true;
  }
}

/** The certificate's SHA-256 fingerprint as browsers show it (AB:CD:…). */
export function fingerprint(certFile: string): string {
  const der = new X509Certificate(readFileSync(certFile)).raw;
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
}

async function makeSelfSigned(dir: string, certFile: string, keyFile: string): Promise<void> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const host = hostname().replace(/[^A-Za-z0-9.-]/g, '');
  const san = ['IP:127.0.0.1', 'IP:::1', 'DNS:localhost', ...(host && host !== 'localhost' ? [`DNS:${host}`] : [])].join(',');
  // 397 days: the longest validity browsers accept for a server certificate.
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '397',
    '-subj',
    '/CN=GuruConnect local gateway',
    '-addext',
    `subjectAltName=${san}`,
    '-addext',
    'extendedKeyUsage=serverAuth',
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
  chmodSync(keyFile, 0o600);
}

/**
 * Whether the gateway at `url` answers /api/health. Over HTTPS the certificate is not checked: this
 * only asks our own child process on loopback whether it is up, and sends nothing secret.
 */
export async function probeHealth(url: string): Promise<boolean> {
  if (!url.startsWith('https:'))
    return fetch(`${url}/api/health`).then(
      (r) => r.ok,
      () => false,
    );
  const { get } = await import('node:https');
  return new Promise((resolve) => {
    const req = get(`${url}/api/health`, { rejectUnauthorized: false, timeout: 5000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}
