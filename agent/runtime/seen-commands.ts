/** Remembers recent ids of live commands (in memory) so one delivered twice runs once; stored commands use seen-store.ts. */
export interface SeenCommands {
  /** True the first time an id is offered; false for a repeat. */
  firstTime(id: string): boolean;
}

export function createSeenCommands(capacity = 10_000): SeenCommands {
  const seen = new Set<string>();
  return {
    firstTime(id) {
      if (seen.has(id)) return false;
      seen.add(id);
      // Sets iterate in insertion order: dropping the first entry evicts the oldest.
      if (seen.size > capacity) seen.delete(seen.values().next().value as string);
      return true;
    },
  };
}
