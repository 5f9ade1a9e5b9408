/** The one-line agent install command per platform, as the enrollment-key dialog shows it. Pure. */

export interface InstallCommand {
  platform: 'Windows' | 'Linux';
  /** Where to run it. */
  where: string;
  command: string;
}

const SAFE = /^[A-Za-z0-9_.:/@%+=,-]+$/;
/** POSIX shell word: as is when plain, else single-quoted. */
const sh = (s: string) => (SAFE.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
/** cmd / PowerShell argument: as is when plain, else double-quoted (keys and URLs hold no quotes). */
const win = (s: string) => (SAFE.test(s) ? s : `"${s.replace(/"/g, '')}"`);

/** The install commands for a gateway at `origin` (e.g. https://gw.example) and an enrollment key. */
export function installCommands(origin: string, key: string): InstallCommand[] {
  return [
    { platform: 'Windows', where: 'an elevated prompt, in the folder of guruconnect-agent.exe', command: `.\\guruconnect-agent.exe install --server ${win(origin)} --enroll-key ${win(key)}` },
    { platform: 'Linux', where: 'a shell, in the folder of guruconnect-agent (systemd)', command: `sudo ./guruconnect-agent install --server ${sh(origin)} --enroll-key ${sh(key)}` },
  ];
}
