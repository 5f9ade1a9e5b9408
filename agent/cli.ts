/**
 * The agent's command line, the same from source (`tsx agent/main.ts`) and in the single-file binary:
 *   guruconnect-agent [run] [--config <agent.env>]   the agent in the foreground
 *   guruconnect-agent service --config <agent.env>   the Windows service (started by the SCM only)
 *   guruconnect-agent install --server <url> --enroll-key <key> [--agent-id <id>] [--nats <url>] [--dry-run]
 *   guruconnect-agent uninstall [--keep-credentials] | status | --version
 * Every command's modules load on demand: `--version` and `status` touch neither NATS nor the platform.
 */
import { readFileSync } from 'node:fs';
import { isSessionHelperInvocation } from './platform/windows/helper-command-line.js';

declare const __GC_AGENT_VERSION__: string | undefined;
/** The build's version in the binary; undefined from source (the configuration's default applies). */
const BINARY_VERSION = typeof __GC_AGENT_VERSION__ === 'string' ? __GC_AGENT_VERSION__ : undefined;

/** Whether this process is the single-file binary (a Node single executable application). */
function isSingleExecutable(): boolean {
  try {
    const sea = process.getBuiltinModule?.('node:sea') as { isSea?: () => boolean } | undefined;
    return sea?.isSea?.() ?? false;
  } catch {
    return false;
  }
}

const USAGE = `usage: guruconnect-agent [run] [--config <file>]
       guruconnect-agent install --server <https://gateway> --enroll-key <key> [--agent-id <id>] [--nats <url>] [--dry-run]
       guruconnect-agent uninstall [--keep-credentials]
       guruconnect-agent status
       guruconnect-agent --version`;

/** Loads `--config <file>` (agent.env) into the environment, before the configuration is read. */
async function applyConfigFile(argv: readonly string[]): Promise<void> {
  const i = argv.indexOf('--config');
  if (i < 0) return;
  const file = argv[i + 1];
  if (!file) throw new Error('--config needs a file');
  const { parseEnvFile } = await import('./install/env-file.js');
  Object.assign(process.env, parseEnvFile(readFileSync(file, 'utf8')));
}

/** Runs the command in `argv` (process.argv without node and script); resolves to the exit code, or never for a running agent. */
export async function main(argv: readonly string[]): Promise<number | undefined> {
  // A bundled Windows agent starts itself again as the capture helper inside another user's session.
  if (isSessionHelperInvocation([process.execPath, 'agent', ...argv])) {
    await (await import('./platform/windows/session-helper/run.js')).runSessionHelperIfAsked();
    return undefined;
  }
  const [cmd = 'run', ...rest] = argv[0]?.startsWith('--') && argv[0] !== '--version' ? ['run', ...argv] : argv;
  const out = (line: string) => console.log(line);
  switch (cmd) {
    case '--version':
    case 'version':
      out(BINARY_VERSION ?? 'source');
      return 0;
    case 'run': {
      await applyConfigFile(rest);
      const { runAgent } = await import('./run-agent.js');
      await runAgent({ version: BINARY_VERSION });
      return undefined;
    }
    case 'service': {
      await applyConfigFile(rest);
      const { runWindowsService } = await import('./install/windows-service-main.js');
      return runWindowsService({ version: BINARY_VERSION });
    }
    case 'install':
    case 'uninstall':
    case 'status': {
      const { runInstaller } = await import('./install/installer.js');
      return runInstaller(cmd, rest, out, isSingleExecutable());
    }
    default:
      console.error(USAGE);
      return 2;
  }
}
