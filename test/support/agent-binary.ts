/** The single-file agent in tests: built once per change of its sources (`build:agent --if-stale`), then reused. */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { type Target, binaryPath } from '../../infra/build/agent-binary.js';
import { connectBus } from '../../proto/bus/connect.js';
import type { Stack } from '../../infra/launcher/stack.js';
import { decode } from '../../proto/codec.js';
import type { AgentId } from '../../proto/ids.js';
import { subjects } from '../../proto/subjects.js';
import type { MachineDto } from '../../services/gateway/api-schemas.js';
import type { Api } from './api.js';

const repo = join(import.meta.dirname, '..', '..');

/** Builds the binary of `target` when missing or stale; returns its path. */
export function ensureAgentBinary(target: Target): string {
  execFileSync(process.execPath, ['--import', 'tsx', join(repo, 'infra', 'build', 'agent-binary.ts'), '--if-stale', target], { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] });
  return binaryPath(target);
}

/** A new enrollment key from the gateway (admin token). */
export async function createEnrollmentKey(url: string, token: string): Promise<string> {
  const r = await fetch(`${url}/api/enrollment-keys`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
  if (r.status !== 201) throw new Error(`enrollment key: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { key: string }).key;
}

/** Every AgentStatus state (0 online, 1 stopping) `agentId` publishes from now on, heard with the launcher's credentials. */
export async function watchAgentStates(stack: Stack, agentId: string): Promise<{ states: number[]; close(): Promise<void> }> {
  const nc = await connectBus({ servers: stack.natsUrl, name: 'test-status-watch', credsFile: await stack.credsFor('launcher'), caFile: stack.natsCa });
  const states: number[] = [];
  const sub = nc.subscribe(subjects.agentEvent(agentId as AgentId, 'status'), {
    callback: (_e, m) => {
      const d = decode(m.data, m.subject);
      if (d.ok && d.value.agentStatus) states.push(d.value.agentStatus.state ?? 0);
    },
  });
  await nc.flush();
  return {
    states,
    close: async () => {
      sub.unsubscribe();
      await nc.close();
    },
  };
}

/** The machine row of `agentId` in the gateway's API (undefined while there is none). */
export async function machineRow(api: Api, agentId: string): Promise<MachineDto | undefined> {
  const r = await api.get<{ machines: MachineDto[] }>('/api/machines');
  return r.body.machines?.find((m) => m.agent_id === agentId);
}
