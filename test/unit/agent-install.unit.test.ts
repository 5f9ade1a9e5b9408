/** The installer's pure parts (issue 15): the systemd unit, agent.env, the install arguments. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEnvFile, renderEnvFile } from '../../agent/install/env-file.js';
import { defaultAgentId, parseInstallArgs } from '../../agent/install/install-args.js';
import { renderSystemdUnit } from '../../agent/install/systemd-unit.js';

const ok = (argv: string[]) => {
  const r = parseInstallArgs(argv);
  if (!r.ok) assert.fail(r.message);
  return r.value;
};
const refused = (argv: string[]) => {
  const r = parseInstallArgs(argv);
  assert.equal(r.ok, false, `accepted ${JSON.stringify(argv)}`);
  return r.ok ? '' : r.message;
};

describe('the systemd unit', () => {
  const unit = renderSystemdUnit({ binary: '/usr/local/bin/guruconnect-agent', configFile: '/etc/guruconnect/agent.env' });
  const lines = unit.split('\n');
  const section = (name: string) => {
    const start = lines.indexOf(`[${name}]`);
    assert.ok(start >= 0, `[${name}] present`);
    const end = lines.findIndex((l, i) => i > start && l.startsWith('['));
    return lines.slice(start + 1, end < 0 ? undefined : end).filter((l) => l !== '');
  };

  it('restarts always, starts the binary with its settings file, after the network, for multi-user boot', () => {
    const service = section('Service');
    assert.ok(service.includes('Restart=always'));
    assert.ok(service.includes('ExecStart="/usr/local/bin/guruconnect-agent" run --config "/etc/guruconnect/agent.env"'));
    assert.ok(service.includes('KillSignal=SIGTERM'), 'SIGTERM is what runs the graceful stop');
    assert.ok(service.includes('UMask=0077'));
    assert.ok(section('Unit').includes('After=network-online.target'));
    assert.deepEqual(section('Install'), ['WantedBy=multi-user.target']);
    assert.equal(lines.filter((l) => l.startsWith('ExecStart=')).length, 1);
  });

  it('quotes paths so that spaces, quotes, % and $ stay literal; refuses line breaks and NUL', () => {
    const u = renderSystemdUnit({ binary: '/opt/a b/"x"%i$HOME', configFile: '/etc/c.env' });
    assert.match(u, /^ExecStart="\/opt\/a b\/\\"x\\"%%i\$\$HOME" run --config "\/etc\/c.env"$/m);
    assert.throws(() => renderSystemdUnit({ binary: '/x\nExecStartPre=/bin/evil', configFile: '/c' }));
    assert.throws(() => renderSystemdUnit({ binary: '/x', configFile: '/c\0' }));
  });
});

describe('agent.env', () => {
  it('round-trips the settings the installer writes', () => {
    const env = { NATS_URL: 'nats://gw.example:4222', GC_AGENT_ID: 'pc-1', GC_AGENT_CREDS: 'C:\\ProgramData\\GuruConnect\\agent.creds', GC_AGENT_STATE_DIR: '/var/lib/guruconnect' };
    assert.deepEqual(parseEnvFile(renderEnvFile(env)), env);
    assert.deepEqual(parseEnvFile(`# comment\r\n\r\n${renderEnvFile({ GC_X: 'a=b' })}`), { GC_X: 'a=b' });
  });

  it('refuses keys that change how Node runs and values that would break a line', () => {
    for (const k of ['NODE_OPTIONS', 'PATH', 'gc_agent_id', 'GC_', 'X=Y']) assert.throws(() => renderEnvFile({ [k]: 'v' }), k);
    for (const v of ['a\nNODE_OPTIONS=--require=/tmp/x', 'a\rb', 'a\0b', 'x\ud800', 'y'.repeat(100_000)]) assert.throws(() => renderEnvFile({ GC_AGENT_ID: v }), JSON.stringify(v.slice(0, 20)));
    assert.throws(() => parseEnvFile('NODE_OPTIONS=--inspect'), /line 1/);
    assert.throws(() => parseEnvFile('GC_A=1\nno equals sign'), /line 2/);
  });
});

describe('install arguments', () => {
  it('reads --server, --enroll-key, --agent-id and --nats, in both spellings', () => {
    const a = ok(['--server', 'https://gw.example', '--enroll-key=gce_abc', '--agent-id', 'pc-1', '--nats', 'tls://gw.example:4222']);
    assert.deepEqual(a, { server: 'https://gw.example', enrollKey: 'gce_abc', agentId: 'pc-1', nats: 'tls://gw.example:4222', dryRun: false });
    assert.equal(ok(['--server', 'https://gw.example', '--enroll-key', 'k']).agentId, defaultAgentId());
  });

  it('--dry-run needs neither server nor key', () => {
    assert.equal(ok(['--dry-run']).dryRun, true);
  });

  it('refuses what would misroute the credentials or break a subject', () => {
    const base = ['--server', 'https://gw.example', '--enroll-key', 'k'];
    assert.match(refused(['--enroll-key', 'k']), /--server/);
    assert.match(refused(['--server', 'https://gw.example']), /--enroll-key/);
    for (const s of ['ftp://gw.example', 'https://user:pw@gw.example', 'not a url', `https://${'a'.repeat(3000)}.example`]) refused(['--server', s, '--enroll-key', 'k']);
    for (const id of ['a.b', 'a*', 'a>', 'x\ud800', 'a b', '', 'x'.repeat(100_000)]) refused([...base, '--agent-id', id]);
    for (const k of ['has space', 'nul\0', 'é', 'k'.repeat(201)]) refused(['--server', 'https://gw.example', '--enroll-key', k]);
    for (const n of ['http://x', 'nats://x:4222\u001b[2J', 'tls://x\u009b:4222', 'nats://x\u007f', 'nats://a b']) refused([...base, '--nats', n]);
    assert.match(refused([...base, '--frobnicate']), /unknown argument/);
    assert.match(refused([...base, '--agent-id']), /needs a value/);
  });

  it("refuses unknown arguments named like an object's own members, and a flag given twice", () => {
    const base = ['--server', 'https://gw.example', '--enroll-key', 'k', '--agent-id', 'pc-1'];
    for (const a of ['constructor=x', '__proto__=y', 'hasOwnProperty=1', 'toString=2', 'valueOf', '__proto__', `--server\0=x`]) {
      assert.match(refused([...base, a, 'v']), /unknown argument/, a);
    }
    assert.match(refused([...base, '--server', 'https://evil.example']), /--server is given twice/);
    assert.match(refused([...base, '--agent-id=pc-2']), /--agent-id is given twice/);
    assert.match(refused(['--dry-run', '--nats', 'tls://a:4222', '--nats=tls://b:4222']), /--nats is given twice/);
  });

  it('the default agent id is the sanitized host name', () => {
    assert.equal(defaultAgentId('My PC.corp.example'), 'My-PC-corp-example');
    assert.equal(defaultAgentId(''), 'agent');
    assert.equal(defaultAgentId('x'.repeat(300)).length, 64);
  });
});
