/** The systemd unit of the installed Linux agent. Pure: `install --dry-run` prints it, a unit test reads it. */

export interface UnitOptions {
  /** The installed binary (absolute). */
  binary: string;
  /** The settings file it is started with (absolute). */
  configFile: string;
}

/** systemd's quoting for one ExecStart word: double quotes, with backslash, quote and `%` / `$` escaped. */
function quoteWord(s: string): string {
  if (/[\0\r\n]/.test(s)) throw new Error('a path for the unit may not hold NUL or line breaks');
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%').replace(/\$/g, '$$$$')}"`;
}

/** The unit file's text: restarted always, after the network is up, files it creates private. */
export function renderSystemdUnit(o: UnitOptions): string {
  return [
    '[Unit]',
    'Description=GuruConnect agent',
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${quoteWord(o.binary)} run --config ${quoteWord(o.configFile)}`,
    'Restart=always',
    'RestartSec=5',
    // SIGTERM runs the graceful stop (AGENT_STOPPING); the agent needs a few seconds at most.
    'KillSignal=SIGTERM',
    'TimeoutStopSec=20',
    'UMask=0077',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}
