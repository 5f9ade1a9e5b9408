/** JSON over fetch with the gateway's error envelope turned into a value, never an exception. */
export interface ApiError {
  error_code: string;
  message: string;
  correlation_id: string;
  status: number;
}
export type ApiResult<T> = { ok: true; value: T } | { ok: false; error: ApiError };

/** Calls the gateway; the session cookie rides along (same origin). */
export async function api<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<ApiResult<T>> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? { accept: 'application/json' } : { 'content-type': 'application/json', accept: 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    return { ok: false, error: { error_code: 'NETWORK', message: `gateway unreachable: ${(e as Error).message}`, correlation_id: '', status: 0 } };
  }
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (res.ok) return { ok: true, value: data as T };
  const env = (data ?? {}) as Partial<ApiError>;
  return {
    ok: false,
    error: {
      error_code: env.error_code ?? `HTTP_${res.status}`,
      message: env.message ?? (text.slice(0, 200) || res.statusText),
      correlation_id: env.correlation_id ?? res.headers.get('x-correlation-id') ?? '',
      status: res.status,
    },
  };
}

/** ws:// or wss:// URL for a path on this origin. */
export function wsUrl(path: string): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
}
