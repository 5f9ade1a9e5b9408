/**
 * Keeps a socket's sign-in current. The upgrade authenticated once; a socket then lives for hours,
 * and a logout, an admin revoking the token (a stolen one), the user disabled, a role changed or the
 * token expiring must end what it may do, backstage and its SYSTEM terminal included. Each message
 * asks first (the answer is reused for `reuseMs`, so an input flood costs one lookup a second), and
 * a timer asks while the socket is quiet, since frames keep flowing to a socket that sends nothing.
 */
export interface SignInWatch {
  /** Resolves true while the sign-in stands; calls of one period share one answer, in call order. */
  check(): Promise<boolean>;
  stop(): void;
}

export const signInWatchDefaults = { reuseMs: 1000, everyMs: 5000 } as const;

export function watchSignIn(stillValid: () => Promise<boolean>, ended: () => void, o: { reuseMs?: number; everyMs?: number; onError?: (e: unknown) => void } = {}): SignInWatch {
  const { reuseMs, everyMs } = { ...signInWatchDefaults, ...o };
  let askedAt = Number.NEGATIVE_INFINITY;
  let answer: Promise<boolean> = Promise.resolve(true);
  let over = false;
  const check = (): Promise<boolean> => {
    if (over) return Promise.resolve(false);
    const now = Date.now();
    if (now - askedAt < reuseMs) return answer;
    askedAt = now;
    answer = stillValid().then(
      (ok) => {
        if (!ok && !over) {
          over = true;
          ended();
        }
        return ok;
      },
      // A database that cannot answer says nothing about the token: keep the socket, ask again next time.
      (e: unknown) => {
        askedAt = Number.NEGATIVE_INFINITY;
        o.onError?.(e);
        return true;
      },
    );
    return answer;
  };
  const timer = setInterval(() => void check(), everyMs);
  timer.unref();
  return {
    check,
    stop: () => clearInterval(timer),
  };
}
