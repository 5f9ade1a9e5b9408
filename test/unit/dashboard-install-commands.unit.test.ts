/** The enrollment dialog's install commands (issue 15): one line per platform, exactly what the agent's CLI reads. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseInstallArgs } from '../../agent/install/install-args.js';
import { installCommands } from '../../services/dashboard/src/install-commands.js';

describe('install commands of the enrollment-key dialog', () => {
  const key = 'gce_DT0K1O31ss2cbYD05wDV3x75M1z1KeA1SSZojCkync8';
  const [windows, linux] = installCommands('https://gw.example:8443', key);

  it('one line for Windows and one for Linux, naming the server and the key', () => {
    assert.equal(windows?.command, `.\\guruconnect-agent.exe install --server https://gw.example:8443 --enroll-key ${key}`);
    assert.equal(linux?.command, `sudo ./guruconnect-agent install --server https://gw.example:8443 --enroll-key ${key}`);
    for (const c of [windows, linux]) assert.doesNotMatch(c!.command, /\n/);
  });

  it("the agent's own argument parser accepts the words after `install`", () => {
    for (const c of [windows, linux]) {
      const words = c!.command.split(' ');
      const args = parseInstallArgs(words.slice(words.indexOf('install') + 1));
      assert.ok(args.ok, JSON.stringify(args));
      assert.equal(args.value.server, 'https://gw.example:8443');
      assert.equal(args.value.enrollKey, key);
    }
  });

  it('quotes what a shell would split or expand; a quote cannot end the Linux word early', () => {
    const [w, l] = installCommands('http://127.0.0.1:8080', "k'$(reboot) x");
    assert.match(l!.command, /--enroll-key 'k'\\''\$\(reboot\) x'$/);
    assert.match(w!.command, /--enroll-key "k'\$\(reboot\) x"$/);
  });
});
