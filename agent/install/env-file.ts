/**
 * The installed agent's settings file (`agent.env`): `KEY=value` lines the service reads with
 * `--config` before the configuration is validated (agent/config.ts). Pure.
 */

/** Keys an env file may set: the agent's own settings and nothing that changes how Node runs. */
const KEY = /^(?:GC_[A-Z0-9_]{1,60}|NATS_URL)$/;

export type EnvFile = Record<string, string>;

/** The file's text; throws on a key outside GC_* / NATS_URL or a value that would break a line. */
export function renderEnvFile(env: EnvFile): string {
  return Object.entries(env)
    .map(([k, v]) => {
      if (!KEY.test(k)) throw new Error(`${JSON.stringify(k)} may not be set in agent.env`);
      if (/[\r\n\0]/.test(v) || v.length > 4096 || /[\ud800-\udfff]/.test(v.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))) throw new Error(`the value of ${k} cannot be written to agent.env`);
      return `${k}=${v}\n`;
    })
    .join('');
}

/** The settings in `text` (blank lines and `#` comments skipped); throws naming the first bad line. */
export function parseEnvFile(text: string): EnvFile {
  const out: EnvFile = {};
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq > 0 ? line.slice(0, eq).trim() : '';
    if (!KEY.test(key)) throw new Error(`agent.env line ${i + 1}: expected GC_*=value or NATS_URL=value`);
    out[key] = line.slice(eq + 1);
  });
  return out;
}
