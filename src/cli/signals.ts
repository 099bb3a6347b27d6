/**
 * Waiting for SIGINT/SIGTERM in an entry point. A repeated signal (a terminal's Ctrl-C reaches a
 * process twice under `deno task`) does not start a second shutdown.
 *
 * @module
 */

/** The signals that ask an entry point to stop. */
export const STOP_SIGNALS = ["SIGINT", "SIGTERM"] as const;

/** A pending wait for a stop signal. */
export interface StopSignal extends Disposable {
  /** Resolves with the first stop signal received. */
  readonly received: Promise<Deno.Signal>;
  /** How many stop signals arrived so far. */
  readonly count: number;
}

/**
 * Listens for SIGINT and SIGTERM until disposed.
 *
 * @example
 * ```ts ignore
 * using stop = onStopSignal();
 * const signal = await stop.received; // "SIGINT" or "SIGTERM"
 * ```
 */
export function onStopSignal(): StopSignal {
  let resolve: (signal: Deno.Signal) => void = () => {};
  const received = new Promise<Deno.Signal>((r) => (resolve = r));
  let count = 0;
  const handlers = STOP_SIGNALS.map((signal) => {
    const handler = () => {
      count++;
      resolve(signal);
    };
    Deno.addSignalListener(signal, handler);
    return [signal, handler] as const;
  });
  return {
    received,
    get count() {
      return count;
    },
    [Symbol.dispose]() {
      for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
    },
  };
}

/** The conventional exit code for a process stopped by `signal` (128 + its number). */
export function exitCodeFor(signal: Deno.Signal): number {
  return signal === "SIGINT" ? 130 : signal === "SIGTERM" ? 143 : 1;
}
