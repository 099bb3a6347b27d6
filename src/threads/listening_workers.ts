/**
 * Starting and stopping Workers that each listen on one TCP port — the server's connection
 * Workers and an overlay node's query Workers alike. With several Workers every one listens with
 * `reusePort`, so the kernel spreads connections across them; a plain bind just before makes sure
 * no other process holds the port (SO_REUSEPORT would let a second process join it silently and
 * take half the connections). The Workers speak a small start-up protocol: they take a start
 * message, answer `{kind: "listening", port}` or `{kind: "failed", name, message}`, and on
 * `{kind: "stop"}` finish and answer `{kind: "stopped"}`.
 *
 * @module
 */

/** How a Worker reports its start-up. */
export type StartReport =
  | { readonly kind: "listening"; readonly port: number }
  | { readonly kind: "failed"; readonly name: string; readonly message: string };

/** Options for {@linkcode startListeningWorkers}. */
export interface ListeningWorkersOptions {
  /** The Worker module. */
  readonly url: string;
  /** How many Workers. */
  readonly count: number;
  readonly hostname: string;
  /** The port to listen on; 0 picks a free one (the same for every Worker). */
  readonly port: number;
  /** What the Workers are called in errors, e.g. `"connection worker"`. */
  readonly what: string;
  /** Worker `index`'s name (shown by debuggers and in crash reports). */
  name(index: number): string;
  /** The start message of Worker `index`: listen on `port`, with `reusePort` when several. */
  startMessage(index: number, port: number, reusePort: boolean): unknown;
  /**
   * Called when a Worker dies of an uncaught error after it started (its event is already
   * handled: the process goes on). @default {nothing}
   */
  readonly onDeath?: (index: number, worker: Worker, event: ErrorEvent) => void;
  /**
   * Takes Worker `index`'s messages from the moment it listens (set before any other Worker
   * starts, so none is missed). @default {none: the Worker's onmessage is left free}
   */
  readonly onMessage?: (index: number, event: MessageEvent) => void;
}

/** Re-creates a Worker's error with the matching `Deno.errors` class when there is one. */
export function reviveError(name: string, message: string): Error {
  const Known =
    (Deno.errors as unknown as Record<string, (new (m: string) => Error) | undefined>)[name];
  const error = Known ? new Known(message) : new Error(message);
  if (!Known) error.name = name;
  return error;
}

/**
 * Starts the Workers one after the other and resolves once every one listens, with the port
 * they share. Their `onmessage` is `onMessage`'s, or free for the caller afterwards.
 *
 * @throws The first Worker's start-up error (for example `Deno.errors.AddrInUse` or
 *   `Deno.errors.NotCapable`), after terminating the Workers already started.
 */
export async function startListeningWorkers(
  options: ListeningWorkersOptions,
): Promise<{ workers: Worker[]; port: number }> {
  const reusePort = options.count > 1;
  let port = options.port;
  if (reusePort) {
    const probe = Deno.listen({ hostname: options.hostname, port, transport: "tcp" });
    port = (probe.addr as Deno.NetAddr).port;
    probe.close();
  }
  const workers: Worker[] = [];
  try {
    for (let index = 0; index < options.count; index++) {
      const worker = new Worker(options.url, { type: "module", name: options.name(index) });
      workers.push(worker);
      port = await new Promise<number>((resolve, reject) => {
        worker.onmessage = (event: MessageEvent<StartReport>) => {
          const report = event.data;
          if (report.kind === "listening") resolve(report.port);
          else if (report.kind === "failed") reject(reviveError(report.name, report.message));
        };
        worker.onerror = (event) => {
          event.preventDefault();
          reject(new Error(`${options.what} ${index} failed to start: ${event.message}`));
        };
        worker.postMessage(options.startMessage(index, port, reusePort));
      });
      const { onMessage } = options;
      worker.onmessage = onMessage ? (event) => onMessage(index, event) : null;
      worker.onerror = (event) => {
        event.preventDefault();
        options.onDeath?.(index, worker, event);
      };
    }
  } catch (error) {
    for (const worker of workers) worker.terminate();
    throw error;
  }
  return { workers, port };
}

/**
 * Asks a Worker to stop (`{kind: "stop"}`), waits for its `{kind: "stopped"}` or `timeoutMs`,
 * then terminates it.
 */
export async function stopWorker(worker: Worker, timeoutMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stopped = new Promise<void>((resolve) => {
    worker.addEventListener("message", (event: MessageEvent) => {
      if (event.data?.kind === "stopped") resolve();
    });
    timer = setTimeout(resolve, timeoutMs);
  });
  worker.postMessage({ kind: "stop" });
  await stopped;
  clearTimeout(timer);
  worker.terminate();
}
