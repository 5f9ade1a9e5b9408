/** Every projection by name (the rebuild CLI and the launcher start from here). */
import { auditProjection } from './audit/audit.projection.js';
import { connectSessionsProjection } from './connect-sessions.projection.js';
import { machinesProjection } from './machines.projection.js';
import type { ProjectionDef } from './runtime/types.js';
import { windowsSessionsProjection } from './windows-sessions.projection.js';

export const projections: readonly ProjectionDef[] = [machinesProjection, windowsSessionsProjection, connectSessionsProjection, auditProjection];

export function projectionByName(name: string): ProjectionDef | undefined {
  return projections.find((p) => p.name === name);
}
