/** Reads an AuditEvent's details_json; bad JSON is kept as text rather than lost. */
export function parseDetails(json: string | null | undefined): Record<string, unknown> {
  if (!json) return {};
  try {
    const v: unknown = JSON.parse(json);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : { value: v };
  } catch {
    return { raw: json };
  }
}

/** A string field of parsed details, or undefined. */
export function detailString(d: Record<string, unknown>, key: string): string | undefined {
  const v = d[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}
