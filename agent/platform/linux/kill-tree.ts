/**
 * Finds and kills everything a backstage command started: its process group and session (it is
 * spawned detached, i.e. setsid), its /proc descendants, and anything still carrying its private
 * environment marker — which catches children that setsid'ed and were re-parented to init.
 */
import { environHas, readAllStats } from './procfs.js';

/** Pids that belong to the tree rooted at `root` (root included if alive). */
async function treeMembers(root: number, marker: string): Promise<number[]> {
  // Zombies are dead already and only wait to be reaped; killing them again changes nothing.
  const stats = (await readAllStats()).filter((s) => s.state !== 'Z' && s.state !== 'X');
  const children = new Map<number, number[]>();
  for (const s of stats) {
    const list = children.get(s.ppid) ?? [];
    list.push(s.pid);
    children.set(s.ppid, list);
  }
  const found = new Set<number>();
  const stack = [root];
  while (stack.length) {
    const p = stack.pop()!;
    for (const c of children.get(p) ?? []) {
      if (!found.has(c)) {
        found.add(c);
        stack.push(c);
      }
    }
  }
  const self = process.pid;
  const rest = stats.filter((s) => !found.has(s.pid) && s.pid !== self);
  for (const s of rest) if (s.pgrp === root || s.session === root || s.pid === root) found.add(s.pid);
  const marked = await Promise.all(rest.map(async (s) => ((await environHas(s.pid, marker)) ? s.pid : 0)));
  for (const p of marked) if (p) found.add(p);
  found.delete(self);
  return [...found];
}

/** SIGKILLs the tree until nothing of it is left (children may fork while we kill). */
export async function killTree(root: number, marker: string): Promise<void> {
  for (let round = 0; round < 10; round++) {
    try {
      process.kill(-root, 'SIGKILL');
    } catch {
      // The group is already empty.
    }
    const members = await treeMembers(root, marker);
    if (members.length === 0) return;
    for (const pid of members) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
