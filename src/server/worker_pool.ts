/**
 * Starts K connection Workers on one port and stops them all. Every Worker listens on the port with
 * `reusePort`, so the kernel spreads connections across them; a plain bind just before makes sure
 * no other process holds the port. With one Worker no `reusePort` is needed.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { EmbeddedBuffers } from "../store/embedded/open_embedded.ts";
import type { FromWorker, ToWorker, WorkerSettings } from "./worker_messages.ts";

/** Settings for the pool; `port` may be 0. */
export type PoolSettings = Omit<WorkerSettings, "reusePort">;

/** Options for {@linkcode WorkerPool.start}. */
export interface WorkerPoolOptions {
  /** Called once if a Worker dies of an uncaught error after start-up. */
  readonly onFatal?: (error: Error) => void;
  /** How long to wait for a Worker to stop before terminating it, in ms. @default {10000} */
  readonly stopTimeoutMs?: number;
  /**
   * The Worker module (tests pass one that speaks the same messages and fails on purpose).
   * @default {connection_worker.ts}
   */
  readonly workerUrl?: string;
}

const WORKER_URL = new URL("./connection_worker.ts", import.meta.url).href;

/** Re-creates a Worker's error with the matching `Deno.errors` class when there is one. */
export function reviveError(name: string, message: string): Error {
  const Known =
    (Deno.errors as unknown as Record<string, (new (m: string) => Error) | undefined>)[name];
  const error = Known ? new Known(message) : new Error(message);
  if (!Known) error.name = name;
  return error;
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

/** A running set of connection Workers sharing one port. */
export class WorkerPool implements AsyncDisposable {
  readonly #workers: Worker[];
  /** Workers that died: nobody waits for them to stop. */
  readonly #dead: Set<Worker>;
  readonly #port: number;
  readonly #stopTimeoutMs: number;
  #stopping: Promise<void> | undefined;

  private constructor(workers: Worker[], dead: Set<Worker>, port: number, stopTimeoutMs: number) {
    this.#workers = workers;
    this.#dead = dead;
    this.#port = port;
    this.#stopTimeoutMs = stopTimeoutMs;
  }

  /**
   * Starts `settings.workers` Workers and resolves once all of them listen.
   *
   * @throws The first Worker's start-up error (for example `Deno.errors.AddrInUse` or
   *   `Deno.errors.NotCapable`), after stopping the Workers already started.
   */
  static async start(
    store: EmbeddedBuffers,
    settings: PoolSettings,
    options: WorkerPoolOptions = {},
  ): Promise<WorkerPool> {
    const { onFatal = () => {}, stopTimeoutMs = 10_000, workerUrl = WORKER_URL } = options;
    const reusePort = settings.workers > 1;
    const workers: Worker[] = [];
    let port = settings.port;
    if (reusePort) {
      // SO_REUSEPORT would let a second server join this port silently and take half the
      // connections. A plain bind first fails if anything holds the port (and picks a free one
      // for port 0); the Workers bind right after it is released.
      const probe = Deno.listen({ hostname: settings.hostname, port, transport: "tcp" });
      port = (probe.addr as Deno.NetAddr).port;
      probe.close();
    }
    const dead = new Set<Worker>();
    const onDeath = (index: number, worker: Worker) => (event: ErrorEvent) => {
      event.preventDefault();
      dead.add(worker);
      if (dead.size > 1) return; // the server is stopping already
      const error = new Error(`connection worker ${index} died: ${event.message}`);
      getLogger(["likes", "server", "lifecycle"]).error(error.message);
      onFatal(error);
    };
    try {
      for (let index = 0; index < settings.workers; index++) {
        const worker = new Worker(workerUrl, { type: "module", name: `connections-${index}` });
        workers.push(worker);
        port = await new Promise<number>((resolve, reject) => {
          worker.onmessage = (event: MessageEvent<FromWorker>) => {
            const message = event.data;
            if (message.kind === "listening") resolve(message.port);
            else if (message.kind === "failed") reject(reviveError(message.name, message.message));
          };
          worker.onerror = (event) => {
            event.preventDefault();
            reject(new Error(`connection worker ${index} failed to start: ${event.message}`));
          };
          const start: ToWorker = {
            kind: "start",
            index,
            store,
            settings: { ...settings, port, reusePort },
          };
          worker.postMessage(start);
        });
        worker.onerror = onDeath(index, worker);
      }
    } catch (error) {
      for (const worker of workers) worker.terminate();
      throw error;
    }
    return new WorkerPool(workers, dead, port, stopTimeoutMs);
  }

  /** The port every Worker listens on. */
  get port(): number {
    return this.#port;
  }

  /**
   * Asks every Worker to stop accepting, answer what it read and flush its logs; terminates a
   * Worker that does not finish in time. Safe to call more than once.
   */
  stop(): Promise<void> {
    this.#stopping ??= Promise.all(this.#workers.map((w) => this.#stopOne(w))).then(() => {});
    return this.#stopping;
  }

  async #stopOne(worker: Worker): Promise<void> {
    if (this.#dead.has(worker)) {
      // It will never answer: what it had read is lost with it, and the others must not wait.
      worker.terminate();
      return;
    }
    await stopWorker(worker, this.#stopTimeoutMs);
  }

  /** Same as {@linkcode WorkerPool.stop}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
