/** Human labels of session enums, as the spec's JSON shows them ("Active", "Console"). One mapping for all. */
import { guruconnect } from './generated/guruconnect.js';

const S = guruconnect.SessionState;
const T = guruconnect.WindowsSessionType;

export const sessionStateLabel: Record<number, 'Active' | 'Disconnected' | 'Idle'> = {
  [S.SESSION_ACTIVE]: 'Active',
  [S.SESSION_DISCONNECTED]: 'Disconnected',
  [S.SESSION_IDLE]: 'Idle',
};

export const sessionTypeLabel: Record<number, 'Console' | 'RDP' | 'Terminal'> = {
  [T.SESSION_CONSOLE]: 'Console',
  [T.SESSION_RDP]: 'RDP',
  [T.SESSION_TERMINAL]: 'Terminal',
};

export const stateLabelOf = (v: number | null | undefined) => sessionStateLabel[v ?? 0] ?? 'Active';
export const typeLabelOf = (v: number | null | undefined) => sessionTypeLabel[v ?? 0] ?? 'Console';

/** Label of a state stored as text in the read models ('active' -> 'Active'). */
export const stateLabelOfText = (t: string) => stateLabelOf(S[`SESSION_${t.toUpperCase()}` as keyof typeof S] as number | undefined);
/** Label of a type stored as text in the read models ('rdp' -> 'RDP'). */
export const typeLabelOfText = (t: string) => typeLabelOf(T[`SESSION_${t.toUpperCase()}` as keyof typeof T] as number | undefined);
