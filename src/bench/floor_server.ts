/**
 * The floor: the least a Deno server must do for the likes protocol — K Workers sharing the port
 * with `reusePort` (as ours do, through the same `threads/listening_workers.ts`), each writing
 * one `ACK\n` per newline it reads, and nothing else (`floor_worker.ts`). The bench runs it
 * beside ours on the same loads, so that ours can be read as a share of what Deno allows here.
 * `deno run --allow-net=127.0.0.1:PORT --allow-read=src src/bench/floor_server.ts --port PORT
 * --workers K` prints `listening on 127.0.0.1:PORT` and serves until SIGTERM/SIGINT.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { startListeningWorkers, stopWorker } from "../threads/listening_workers.ts";

/** A running floor server. */
export interface Floor {
  readonly hostname: string;
  readonly port: number;
  /** Stops every Worker. */
  stop(): Promise<void>;
}

/** Starts the floor's Workers on `port` (0: a free one); resolves once all listen. */
export async function startFloor(
  options: { readonly port: number; readonly workers: number },
): Promise<Floor> {
  const hostname = "127.0.0.1";
  const { workers, port } = await startListeningWorkers({
    url: new URL("./floor_worker.ts", import.meta.url).href,
    count: options.workers,
    hostname,
    port: options.port,
    what: "floor worker",
    name: (index) => `floor-${index}`,
    startMessage: (_index, port, reusePort) => ({ kind: "start", hostname, port, reusePort }),
  });
  return {
    hostname,
    port,
    stop: () => Promise.all(workers.map((worker) => stopWorker(worker, 2000))).then(() => {}),
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    strict: true,
    options: { port: { type: "string", default: "0" }, workers: { type: "string", default: "1" } },
  });
  const floor = await startFloor({ port: Number(values.port), workers: Number(values.workers) });
  Deno.stdout.writeSync(new TextEncoder().encode(`listening on ${floor.hostname}:${floor.port}\n`));
  const stopped = Promise.withResolvers<void>();
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(signal, () => stopped.resolve());
  }
  await stopped.promise;
  await floor.stop();
  Deno.exit(0);
}
