/**
 * TLS material for NATS: the operator's own files (GC_TLS_CERT, GC_TLS_KEY, GC_TLS_CA), or a private
 * CA and a server certificate made in the data directory on first start, reused on later starts and
 * renewed before they expire. Certificates are made with Debian's `openssl` CLI: no npm dependency to
 * keep current for a few lines of X.509, and it writes the PEM files nats-server reads as they are.
 * Node's own X509Certificate checks what is on disk (issuer, expiry, names, key match).
 */
import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensurePrivateDir, readIfExists } from '../nats-auth/secret-files.js';

export interface TlsFiles {
  /** PEM of the CA every client verifies the servers against (public: agents get it at enrollment). */
  caFile: string;
  /** The servers' certificate (chain) and private key. */
  certFile: string;
  keyFile: string;
  /** Made here, or given by the operator (GC_TLS_*). */
  source: 'generated' | 'operator';
}

export const tlsDefaults = {
  caDays: 3650,
  serverDays: 397,
  /** A certificate with less left than this is renewed at start. */
  renewBeforeDays: 30,
} as const;

/** Names the launcher's clients use (loopback) and a remote one would (this host). */
export function defaultServerNames(): string[] {
  const h = hostname().toLowerCase();
  return ['127.0.0.1', 'localhost', ...(isDnsName(h) && h !== 'localhost' ? [h] : [])];
}

const isDnsName = (s: string) => s.length <= 253 && /^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?)*$/.test(s);
const isIPv4 = (s: string) => /^(\d{1,3})(\.\d{1,3}){3}$/.test(s) && s.split('.').every((p) => Number(p) <= 255);

const files = { caCert: 'ca.pem', caKey: 'ca.key', cert: 'nats-server.pem', key: 'nats-server.key' } as const;
const run = promisify(execFile);
const dayMs = 86_400_000;

/** The PEM certificates in `text`, parsed (a bundle or a chain may hold several). */
export function parseCertificates(text: string): X509Certificate[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

/** Why `cert` cannot serve until `now + renewBeforeDays` under `ca` with `names`, or undefined when it can. */
function unusable(cert: X509Certificate, keyPem: string, ca: X509Certificate | undefined, names: string[], now: Date, renewBeforeDays: number): string | undefined {
  try {
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return 'its key does not match';
  } catch {
    return 'its key cannot be read';
  }
  if (new Date(cert.validFrom) > now) return `it is not valid before ${cert.validFrom}`;
  if (new Date(cert.validTo).getTime() - now.getTime() < renewBeforeDays * dayMs) return `it expires ${cert.validTo}`;
  if (ca && !(cert.checkIssued(ca) && cert.verify(ca.publicKey))) return 'it was not issued by the CA';
  const missing = names.find((n) => !(isIPv4(n) ? cert.checkIP(n) : cert.checkHost(n)));
  return missing ? `it does not name ${missing}` : undefined;
}

async function load(dir: string, certName: string, keyName: string): Promise<{ cert: X509Certificate; keyPem: string } | undefined> {
  const [certPem, keyPem] = await Promise.all([readIfExists(join(dir, certName)), readIfExists(join(dir, keyName))]);
  if (!certPem || !keyPem) return undefined;
  try {
    const [cert] = parseCertificates(certPem);
    return cert ? { cert, keyPem } : undefined;
  } catch {
    return undefined;
  }
}

function opensslConfig(names: string[]): string {
  const alt = names.map((n) => (isIPv4(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  return [
    '[req]',
    'distinguished_name = dn',
    '[dn]',
    '[ca_ext]',
    'basicConstraints = critical,CA:TRUE,pathlen:0',
    'keyUsage = critical,keyCertSign,cRLSign',
    'subjectKeyIdentifier = hash',
    '[server_ext]',
    'basicConstraints = critical,CA:FALSE',
    'keyUsage = critical,digitalSignature',
    // clientAuth too: cluster routes are mutual TLS, each node presents this certificate to the others.
    'extendedKeyUsage = serverAuth,clientAuth',
    `subjectAltName = ${alt}`,
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid',
    '',
  ].join('\n');
}

/** Runs `openssl req` in a private scratch directory and moves the pair into place (key 0600, cert 0644). */
async function issue(dir: string, o: { names: string[]; days: number; subject: string; ext: 'ca_ext' | 'server_ext'; caFiles?: [string, string]; certName: string; keyName: string }): Promise<void> {
  const tmp = await mkdtemp(join(dir, '.issue-'));
  try {
    const cnf = join(tmp, 'openssl.cnf');
    await writeFile(cnf, opensslConfig(o.names), { mode: 0o600 });
    const args = [
      'req',
      '-x509',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-noenc',
      '-keyout',
      join(tmp, 'key.pem'),
      '-out',
      join(tmp, 'cert.pem'),
      '-days',
      String(o.days),
      '-subj',
      o.subject,
      '-config',
      cnf,
      '-extensions',
      o.ext,
      ...(o.caFiles ? ['-CA', o.caFiles[0], '-CAkey', o.caFiles[1]] : []),
    ];
    try {
      await run('openssl', args, { timeout: 30_000 });
    } catch (e) {
      const x = e as NodeJS.ErrnoException & { stderr?: string };
      throw new Error(
        x.code === 'ENOENT' ? 'openssl not found: install it with `apt-get install -y openssl` (bash infra/install-deps.sh)' : `openssl could not make a certificate: ${x.stderr?.trim() || x.message}`,
      );
    }
    await chmod(join(tmp, 'key.pem'), 0o600);
    await chmod(join(tmp, 'cert.pem'), 0o644);
    await rename(join(tmp, 'key.pem'), join(dir, o.keyName));
    await rename(join(tmp, 'cert.pem'), join(dir, o.certName));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * The private CA and server certificate in `dir` (0700; keys 0600): made when missing, reused while
 * valid, renewed when less than `renewBeforeDays` is left or the names changed. A new CA means a new
 * server certificate; agents enrolled under the old CA must be given the new one.
 */
export async function ensureLocalTls(dir: string, o: { names?: string[]; now?: Date; log?: (line: string) => void } = {}): Promise<TlsFiles> {
  const names = o.names ?? defaultServerNames();
  // Names go into the openssl configuration: only IPv4 addresses and DNS names, nothing that could add a line.
  const bad = names.find((n) => !isIPv4(n) && !isDnsName(n));
  if (bad !== undefined || names.length === 0) throw new Error(`cannot issue a certificate for ${JSON.stringify(bad ?? names)}: names are IPv4 addresses or DNS names`);
  const now = o.now ?? new Date();
  const log = o.log ?? (() => {});
  await ensurePrivateDir(dir);
  const out: TlsFiles = { caFile: join(dir, files.caCert), certFile: join(dir, files.cert), keyFile: join(dir, files.key), source: 'generated' };

  let ca = await load(dir, files.caCert, files.caKey);
  const caWhy = !ca ? 'none yet' : !ca.cert.ca ? 'it is not a CA' : unusable(ca.cert, ca.keyPem, undefined, [], now, tlsDefaults.renewBeforeDays);
  if (caWhy) {
    log(`making a private CA for NATS in ${dir} (${caWhy})`);
    await issue(dir, { names, days: tlsDefaults.caDays, subject: `/CN=GuruConnect NATS CA ${randomBytes(4).toString('hex')}`, ext: 'ca_ext', certName: files.caCert, keyName: files.caKey });
    ca = await load(dir, files.caCert, files.caKey);
  }
  if (!ca) throw new Error(`the new CA in ${dir} cannot be read back`);
  const server = await load(dir, files.cert, files.key);
  const serverWhy = server ? unusable(server.cert, server.keyPem, ca.cert, names, now, tlsDefaults.renewBeforeDays) : 'none yet';
  if (serverWhy) {
    log(`issuing the NATS server certificate for ${names.join(', ')} (${serverWhy})`);
    await issue(dir, {
      names,
      days: tlsDefaults.serverDays,
      subject: `/CN=${names.find((n) => !isIPv4(n) && n !== 'localhost') ?? 'localhost'}`,
      ext: 'server_ext',
      caFiles: [out.caFile, join(dir, files.caKey)],
      certName: files.cert,
      keyName: files.key,
    });
  }
  return out;
}

/**
 * The operator's files from GC_TLS_CERT, GC_TLS_KEY and GC_TLS_CA (all three or none), checked so a
 * mistake stops the start with a sentence instead of clients retrying a handshake forever: the key
 * matches, the certificate is current, names `mustName` (the launcher's clients dial 127.0.0.1) and
 * chains to the CA file.
 */
export async function operatorTls(env: NodeJS.ProcessEnv, mustName: string[] = ['127.0.0.1'], now = new Date()): Promise<TlsFiles | undefined> {
  const given = { GC_TLS_CERT: env.GC_TLS_CERT || undefined, GC_TLS_KEY: env.GC_TLS_KEY || undefined, GC_TLS_CA: env.GC_TLS_CA || undefined };
  const set = Object.entries(given).filter(([, v]) => v !== undefined);
  if (set.length === 0) return undefined;
  if (set.length < 3)
    throw new Error(
      `GC_TLS_CERT, GC_TLS_KEY and GC_TLS_CA go together; missing ${Object.entries(given)
        .filter(([, v]) => v === undefined)
        .map(([k]) => k)
        .join(', ')}`,
    );
  const read = async (name: keyof typeof given): Promise<string> => {
    const path = given[name]!;
    if (path.length > 4096 || path.includes('\0')) throw new Error(`${name} is not a usable path`);
    try {
      return await readFile(path, 'utf8');
    } catch (e) {
      throw new Error(`${name}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  };
  const [certPem, keyPem, caPem] = [await read('GC_TLS_CERT'), await read('GC_TLS_KEY'), await read('GC_TLS_CA')];
  let chain: X509Certificate[];
  let anchors: X509Certificate[];
  try {
    chain = parseCertificates(certPem);
    anchors = parseCertificates(caPem);
    createPrivateKey(keyPem);
  } catch (e) {
    throw new Error(`GC_TLS_*: a file is not valid PEM (${(e as Error).message})`);
  }
  const leaf = chain[0];
  if (!leaf) throw new Error(`GC_TLS_CERT ${given.GC_TLS_CERT} holds no PEM certificate`);
  if (anchors.length === 0) throw new Error(`GC_TLS_CA ${given.GC_TLS_CA} holds no PEM certificate`);
  const why = unusable(leaf, keyPem, undefined, mustName, now, 0);
  if (why)
    throw new Error(
      `GC_TLS_CERT ${given.GC_TLS_CERT} cannot serve NATS: ${why}${why.startsWith('it does not name') ? " (the launcher's own services connect to 127.0.0.1: add IP:127.0.0.1 to its subjectAltName)" : ''}`,
    );
  const top = chain[chain.length - 1]!;
  const trusted = anchors.some((a) => a.fingerprint256 === top.fingerprint256 || (top.checkIssued(a) && top.verify(a.publicKey)));
  if (!trusted) throw new Error(`GC_TLS_CERT ${given.GC_TLS_CERT} does not chain to a certificate in GC_TLS_CA ${given.GC_TLS_CA}: clients would refuse the server`);
  return { caFile: given.GC_TLS_CA!, certFile: given.GC_TLS_CERT!, keyFile: given.GC_TLS_KEY!, source: 'operator' };
}

/** The launcher's choice: the operator's files when GC_TLS_* are set, else the private CA in `dir`. */
export async function natsTlsFiles(dir: string, env: NodeJS.ProcessEnv, log?: (line: string) => void): Promise<TlsFiles> {
  return (await operatorTls(env)) ?? ensureLocalTls(dir, { log });
}
