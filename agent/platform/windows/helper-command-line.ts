/**
 * How the session helper is started: the agent's own node.exe running the agent's own entry script
 * with `--gc-session-helper` (so one bundle serves both roles), or an explicit argument list. Pure.
 */

/** The argument that turns an agent entry script into the session helper. */
export const SESSION_HELPER_FLAG = '--gc-session-helper';

/** Whether this process was started as a session helper. */
export function isSessionHelperInvocation(argv: readonly string[] = process.argv): boolean {
  return argv.slice(2).includes(SESSION_HELPER_FLAG);
}

/**
 * The helper's arguments after node.exe: node options the agent was started with (e.g. `--import
 * tsx` when run from source; test-runner options left out), its entry script, and the flag.
 */
export function defaultHelperArgs(execArgv: readonly string[] = process.execArgv, entry: string | undefined = process.argv[1]): string[] {
  const keep: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i] as string;
    if (a === '--test' || a.startsWith('--test-') || a.startsWith('--experimental-test')) {
      // `--test-reporter spec`: the value is a separate entry, and belongs to the dropped option.
      if (!a.includes('=') && execArgv[i + 1] !== undefined && !execArgv[i + 1]?.startsWith('-')) i++;
      continue;
    }
    keep.push(a);
  }
  return [...keep, ...(entry ? [entry] : []), SESSION_HELPER_FLAG];
}

/** One argument quoted the way CommandLineToArgvW and the C runtime read it back. */
export function quoteArg(arg: string): string {
  if (arg !== '' && !/[\s"]/.test(arg)) return arg;
  let out = '"';
  let slashes = 0;
  for (const ch of arg) {
    if (ch === '\\') {
      slashes++;
      continue;
    }
    // Backslashes are literal unless they precede a quote: then each must be doubled.
    out += ch === '"' ? `${'\\'.repeat(slashes * 2 + 1)}"` : `${'\\'.repeat(slashes)}${ch}`;
    slashes = 0;
  }
  return `${out}${'\\'.repeat(slashes * 2)}"`;
}

/** The full command line for CreateProcess: program and arguments, each quoted when needed. */
export function commandLine(program: string, args: readonly string[]): string {
  return [program, ...args].map(quoteArg).join(' ');
}
