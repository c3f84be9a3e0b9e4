// Probes must never hang: every network step gets a time budget. A late answer (a socket that
// connected after the budget ran out) is handed to `late` so that it is closed, not leaked.
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
