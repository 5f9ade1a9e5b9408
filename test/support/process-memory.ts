/**
 * Memory of a process tree, as `smem` would count it: each process's PSS (proportional set size,
 * /proc/<pid>/smaps_rollup), where a page shared by n processes counts 1/n in each, so the sum over
 * a tree is what the tree costs the machine. Pages shared with processes outside the tree (the node
 * binary with every other Node process on the machine) count only their share.
 */
import { readFileSync, readdirSync } from 'node:fs';

export interface ProcessMemory {
  pid: number;
  /** The command line, NULs as spaces. */
  cmd: string;
  pssKiB: number;
}

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** The parent of each live process. */
function parents(): Map<number, number> {
  const out = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = read(`/proc/${name}/stat`);
    // The command name (field 2) is in parentheses and may hold spaces: the parent pid follows the last ')'.
    const ppid = stat ? Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) : Number.NaN;
    if (Number.isInteger(ppid)) out.set(Number(name), ppid);
  }
  return out;
}

/** `root` and every descendant alive now. */
export function processTree(root: number): number[] {
  const byParent = new Map<number, number[]>();
  for (const [pid, ppid] of parents()) byParent.set(ppid, [...(byParent.get(ppid) ?? []), pid]);
  const out: number[] = [];
  const visit = (pid: number) => {
    out.push(pid);
    for (const c of byParent.get(pid) ?? []) visit(c);
  };
  visit(root);
  return out;
}

/** PSS and command line of each process of the tree under `root` (processes gone meanwhile are left out). */
export function treeMemory(root: number): ProcessMemory[] {
  return processTree(root).flatMap((pid) => {
    const rollup = read(`/proc/${pid}/smaps_rollup`);
    const cmd = read(`/proc/${pid}/cmdline`)?.replace(/\0/g, ' ').trim();
    const pss = rollup ? /^Pss:\s+(\d+) kB/m.exec(rollup) : null;
    return pss && cmd !== undefined ? [{ pid, cmd, pssKiB: Number(pss[1]) }] : [];
  });
}
