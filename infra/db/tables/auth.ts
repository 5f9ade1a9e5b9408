/** Technicians, tokens, machine access, agents and enrollment keys (issue 6). */
export type AuthTables = {}
