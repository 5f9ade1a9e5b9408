/**
 * An interactive shell on a pseudo-terminal without native modules: util-linux `script` (on every
 * Debian) allocates the pty and relays it over plain pipes. The window size is set with `stty` on the
 * pty's slave, which also sends SIGWINCH to the foreground program (top, vi redraw).
 */
import { childProcess } from '../../lazy-builtins.js';
import { randomUUID } from 'node:crypto';
import { access, constants, readlink } from 'node:fs/promises';
import { guruconnect } from '../../../proto/generated/guruconnect.js';
import { ErrorCode, type Result, err, ok } from '../../../proto/errors.js';
import type { PtyProcess, PtyRequest } from '../../terminal/pty-types.js';
import { onPath, run } from './exec.js';
import { killTree } from './kill-tree.js';
import { readAllStats } from './procfs.js';
import { runAsEnv, runAsFor, runAsSpawnOptions } from './run-as.js';
import type { LinuxSession } from './sessions.js';
import { TREE_MARKER_VAR } from './spawn.js';

const { Shell } = guruconnect;
const SCRIPT = '/usr/bin/script';

const executable = async (p: string) =>
  p !== '' &&
  (await access(p, constants.X_OK).then(
    () => true,
    () => false,
  ));
/** Single-quoted for sh: the only character needing care inside '…' is the quote itself. */
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The shell binary and its flags for an interactive session. */
async function shellCommand(shell: guruconnect.Shell, loginShell: string): Promise<Result<string[]>> {
  switch (shell) {
    case Shell.SHELL_DEFAULT: {
      // nologin/false as a login shell would end the terminal at once: fall back to a real one.
      const usable = !/(nologin|false)$/.test(loginShell) && (await executable(loginShell));
      const file = usable ? loginShell : (await executable('/bin/bash')) ? '/bin/bash' : '/bin/sh';
      return ok([file, '-i']);
    }
    case Shell.SHELL_SH:
      return ok(['/bin/sh', '-i']);
    case Shell.SHELL_POWERSHELL: {
      const pwsh = await onPath('pwsh');
      return pwsh ? ok([pwsh, '-NoLogo']) : err(ErrorCode.NOT_AVAILABLE, 'PowerShell (pwsh) is not installed on this Linux host; use the default shell');
    }
    case Shell.SHELL_CMD:
      return err(ErrorCode.NOT_AVAILABLE, 'cmd.exe does not exist on Linux; use the default shell');
    default:
      return err(ErrorCode.VALIDATION_FAILED, `unknown shell ${shell}`);
  }
}

const clampSize = (n: number, fallback: number) => (Number.isInteger(n) && n >= 1 && n <= 1000 ? n : fallback);

/** Starts the requested shell on a new pty; `findSession` resolves a non-zero asSessionId. */
export async function spawnLinuxPty(req: PtyRequest, findSession: (id: number) => Promise<LinuxSession | undefined>): Promise<Result<PtyProcess>> {
  if (!(await executable(SCRIPT))) return err(ErrorCode.NOT_AVAILABLE, `${SCRIPT} (util-linux) is missing; the interactive terminal needs it`);
  const who = await runAsFor(req.asSessionId, findSession);
  if (!who.ok) return who;
  const w = who.value;
  const argv = await shellCommand(req.shell, w.loginShell);
  if (!argv.ok) return argv;
  const [shellFile, ...shellArgs] = argv.value;
  const cols = clampSize(req.cols, 80);
  const rows = clampSize(req.rows, 24);
  const marker = randomUUID();
  const env = runAsEnv(w, { ...process.env, [TREE_MARKER_VAR]: marker, TERM: 'xterm-256color', COLORTERM: 'truecolor' });
  for (const k of ['COLUMNS', 'LINES']) delete env[k];
  // script runs its -c text with $SHELL -c: keep that /bin/sh, and give the interactive shell its own.
  env.SHELL = '/bin/sh';
  const inner = `stty cols ${cols} rows ${rows} 2>/dev/null; export SHELL=${q(shellFile!)}; exec ${[shellFile!, ...shellArgs].map(q).join(' ')}`;
  const child = childProcess().spawn(SCRIPT, ['-q', '-f', '-e', '-c', inner, '/dev/null'], { detached: true, stdio: ['pipe', 'pipe', 'pipe'], env, ...runAsSpawnOptions(w) });
  const pid = await new Promise<number | Error>((resolve) => {
    child.once('spawn', () => resolve(child.pid ?? -1));
    child.once('error', (e) => resolve(e));
  });
  if (pid instanceof Error) return err(ErrorCode.PLATFORM_ERROR, `could not start ${SCRIPT}: ${pid.message}`);
  child.stdin.on('error', () => {
    // The shell ended while input was in flight: nothing left to deliver it to.
  });
  const listeners: ((b: Uint8Array) => void)[] = [];
  const early: Uint8Array[] = [];
  const deliver = (b: Buffer) => {
    if (listeners.length === 0) early.push(b);
    for (const l of listeners) l(b);
  };
  child.stdout.on('data', deliver);
  // script prints its own failures on stderr; the technician should see them in the terminal.
  child.stderr.on('data', deliver);
  const exited = new Promise<{ exitCode: number }>((resolve) => child.once('close', (code) => resolve({ exitCode: code ?? -1 })));

  let slave: string | undefined;
  let shell: number | undefined;
  const findShell = async (): Promise<number | undefined> => {
    if (shell !== undefined) return shell;
    const c = (await readAllStats()).find((s) => s.ppid === pid && s.state !== 'Z');
    if (c) shell = c.pid;
    return shell;
  };
  const slavePath = async (): Promise<string | undefined> => {
    // Right after the start, script may not have forked the shell yet: look again for a moment.
    for (let attempt = 0; !slave && attempt < 20; attempt++) {
      const sp = await findShell();
      const link = sp === undefined ? '' : await readlink(`/proc/${sp}/fd/0`).catch(() => '');
      if (link.startsWith('/dev/pts/')) slave = link;
      else await new Promise((r) => setTimeout(r, 50));
    }
    return slave;
  };
  let killing: Promise<void> | undefined;
  return ok({
    pid,
    runAsUser: w.user,
    onData(cb) {
      listeners.push(cb);
      for (const b of early.splice(0)) cb(b);
    },
    write(bytes) {
      if (child.stdin.writable) child.stdin.write(bytes);
    },
    async resize(c, r) {
      const dev = await slavePath();
      if (!dev) return err(ErrorCode.CONFLICT, 'the shell has not started yet');
      const out = await run('stty', ['-F', dev, 'cols', String(clampSize(c, 80)), 'rows', String(clampSize(r, 24))], 5000);
      return out.code === 0 ? ok(undefined) : err(ErrorCode.PLATFORM_ERROR, `stty on ${dev}: ${out.stderr.trim() || out.spawnError || `exit ${out.code}`}`);
    },
    shellPid: findShell,
    exited,
    killTree() {
      killing ??= killTree(pid, `${TREE_MARKER_VAR}=${marker}`);
      return killing;
    },
  });
}
