// Network steps of plugins: each gets a time budget, and a failure is said in the operator's words.
// A late answer (a socket that connected after the budget ran out) is handed to `late` so that it is
// closed, not leaked.
export class NoAnswer extends Error {}

export function bounded<T>(
  p: Promise<T>,
  ms: number,
  late?: (v: T) => void,
  describe: (ms: number) => string = (x) => `no answer within ${x} ms`,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let over = false;
    const timer = setTimeout(() => {
      over = true;
      reject(new NoAnswer(describe(ms)));
    }, ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        if (over) late?.(v);
        else resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        if (!over) reject(e);
      },
    );
  });
}

/** Why a connection failed, as an operator says it: "connection refused", "no route to host". */
export function whyNoConnection(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  const msg = e instanceof Error ? e.message : String(e);
  if (code === 'ECONNREFUSED' || /refused/i.test(msg)) return 'connection refused';
  if (code === 'EHOSTUNREACH' || /no route/i.test(msg)) return 'no route to host';
  if (code === 'ECONNRESET') return 'connection reset';
  if (code === 'ENOTFOUND') return 'unknown host name';
  return msg;
}
