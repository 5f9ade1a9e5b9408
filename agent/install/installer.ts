/** `install`, `uninstall` and `status`: the platform's installer, chosen here once. */
import { parseInstallArgs } from './install-args.js';

type Out = (line: string) => void;

/** Runs one installer command; resolves to the exit code. */
export async function runInstaller(cmd: 'install' | 'uninstall' | 'status', argv: readonly string[], out: Out, isBinary: boolean): Promise<number> {
  const win = process.platform === 'win32';
  const platform = win ? await import('./windows-installer.js') : await import('./linux-installer.js');
  if (cmd === 'install') {
    const args = parseInstallArgs(argv);
    if (!args.ok) {
      out(`error: ${args.message}`);
      return 2;
    }
    return 'installWindows' in platform ? platform.installWindows(args.value, out, isBinary) : platform.installLinux(args.value, out, isBinary);
  }
  if (cmd === 'uninstall') {
    const keep = argv.includes('--keep-credentials');
    const unknown = argv.find((a) => a !== '--keep-credentials');
    if (unknown !== undefined) {
      out(`error: unknown argument ${JSON.stringify(unknown.slice(0, 100))}`);
      return 2;
    }
    return 'uninstallWindows' in platform ? platform.uninstallWindows(keep, out) : platform.uninstallLinux(keep, out);
  }
  return 'statusWindows' in platform ? platform.statusWindows(out) : platform.statusLinux(out);
}
