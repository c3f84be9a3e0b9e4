// The one wait of haplay. An abort ends the wait by rejecting, so that a plugin stops where it
// waited; a loop that checks the signal itself (the engine's retries, the monitor) catches it.
import { TaskFailed } from './errors.js';

/** Milliseconds to wait, or the signal's abort: whichever comes first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new TaskFailed('interrupted');
}
