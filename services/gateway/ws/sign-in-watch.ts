/**
 * Keeps a socket's sign-in current. The upgrade authenticated once; a socket then lives for hours,
 * and a logout, an admin revoking the token (a stolen one), the user disabled, a role changed or the
 * token expiring must end what it may do, backstage and its SYSTEM terminal included. Each message
 * asks first (the answer is reused for `reuseMs`, so an input flood costs one lookup a second), and
 * a timer asks while the socket is quiet, since frames keep flowing to a socket that sends nothing.
 * High-rate messages (input, acks) go by the last answer (`standing`) instead of waiting for one, so a
 * slow lookup queues nothing; a lookup slower than `timeoutMs` counts as no answer.
 */
export interface SignInWatch {
  /** Resolves true while the sign-in stands; calls of one period share one answer, in call order. */
  check(): Promise<boolean>;
  /** The last answer, at once (false once ended); asks again in the background when it is due. */
  standing(): boolean;
  stop(): void;
}

export const signInWatchDefaults = { reuseMs: 1000, everyMs: 5000, timeoutMs: 5000 } as const;

export function watchSignIn(stillValid: () => Promise<boolean>, ended: () => void, o: { reuseMs?: number; everyMs?: number; timeoutMs?: number; onError?: (e: unknown) => void } = {}): SignInWatch {
  const { reuseMs, everyMs, timeoutMs } = { ...signInWatchDefaults, ...o };
  const ask = () => {
    let timer: NodeJS.Timeout | undefined;
    const slow = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([stillValid(), slow]).finally(() => clearTimeout(timer));
  };
  let askedAt = Number.NEGATIVE_INFINITY;
  let answer: Promise<boolean> = Promise.resolve(true);
  let over = false;
  const check = (): Promise<boolean> => {
    if (over) return Promise.resolve(false);
    const now = Date.now();
    if (now - askedAt < reuseMs) return answer;
    askedAt = now;
    answer = ask().then(
      (ok) => {
        if (!ok && !over) {
          over = true;
          ended();
        }
        return ok;
      },
      // A database that cannot answer says nothing about the token: keep the socket, ask again in the
      // next period (not at once: during an outage every message would start a lookup).
      (e: unknown) => {
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
    standing: () => {
      void check();
      return !over;
    },
    stop: () => clearInterval(timer),
  };
}
