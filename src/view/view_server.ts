/**
 * The live view's web server, on 127.0.0.1: the page (`/`), its script and styles, uPlot (from
 * npm, served from here: the page loads nothing from the internet), `/api/state` (the whole state
 * as JSON) and `/api/events` (Server-Sent Events: the state and series once, then a `tick` with the
 * state and the newest point on every update, and `end` when the run is over).
 *
 * Stopping never waits for open pages: {@linkcode ViewServer.finish} closes every stream before it
 * shuts the server down (an open stream would otherwise hold `shutdown()` forever).
 *
 * @module
 */

import indexHtml from "./assets/index.html" with { type: "text" };
import appJs from "./assets/app.js" with { type: "text" };
import appCss from "./assets/app.css" with { type: "text" };
import uplotJs from "uplot/dist/uPlot.iife.min.js" with { type: "text" };
import uplotCss from "uplot/dist/uPlot.min.css" with { type: "text" };
import type { RunSnapshot } from "./run_snapshot.ts";
import { ViewModel } from "./view_model.ts";

/** Options for {@linkcode serveView}. */
export interface ViewServerOptions {
  /** @default {"127.0.0.1"} */
  readonly hostname?: string;
  /** 0 picks a free port. @default {0} */
  readonly port?: number;
}

/** A running view. */
export interface ViewServer extends AsyncDisposable {
  /** `http://127.0.0.1:PORT/`. */
  readonly url: string;
  readonly port: number;
  /** Takes a snapshot of the run and pushes it to every open page. */
  update(snapshot: RunSnapshot): void;
  /** Ends every open stream (pages keep what they show) and stops the server. */
  finish(): Promise<void>;
}

const STATIC: Record<string, [string, string]> = {
  "/": [indexHtml, "text/html; charset=utf-8"],
  "/index.html": [indexHtml, "text/html; charset=utf-8"],
  "/app.js": [appJs, "text/javascript; charset=utf-8"],
  "/app.css": [appCss, "text/css; charset=utf-8"],
  "/uplot.js": [uplotJs, "text/javascript; charset=utf-8"],
  "/uplot.css": [uplotCss, "text/css; charset=utf-8"],
};

const encoder = new TextEncoder();

function event(name: string, data: unknown): Uint8Array {
  return encoder.encode(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
}

/**
 * Starts the view and resolves once it listens.
 *
 * @throws {Deno.errors.AddrInUse} If the port is taken.
 * @throws {Deno.errors.NotCapable} If the process may not listen there.
 */
export async function serveView(options: ViewServerOptions = {}): Promise<ViewServer> {
  const { hostname = "127.0.0.1", port = 0 } = options;
  const model = new ViewModel();
  const streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  const listening = Promise.withResolvers<number>();

  const send = (controller: ReadableStreamDefaultController<Uint8Array>, bytes: Uint8Array) => {
    try {
      controller.enqueue(bytes);
    } catch {
      streams.delete(controller); // the page went away
    }
  };

  const handler = (request: Request): Response => {
    const { pathname } = new URL(request.url);
    if (request.method !== "GET") return new Response("method not allowed\n", { status: 405 });
    const file = STATIC[pathname];
    if (file) return new Response(file[0], { headers: { "content-type": file[1] } });
    if (pathname === "/api/state") {
      return Response.json(
        { state: model.state(), series: model.series() },
        { headers: { "cache-control": "no-store" } },
      );
    }
    if (pathname === "/api/events") {
      let self: ReadableStreamDefaultController<Uint8Array>;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          self = controller;
          streams.add(controller);
          controller.enqueue(encoder.encode("retry: 1000\n\n"));
          const state = model.state();
          if (state) controller.enqueue(event("state", { state, series: model.series() }));
        },
        cancel() {
          streams.delete(self);
        },
      });
      return new Response(body, {
        headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
      });
    }
    return new Response("not found\n", { status: 404 });
  };

  const server = Deno.serve({
    hostname,
    port,
    onListen: ({ port }) => listening.resolve(port),
  }, handler);
  const actualPort = await listening.promise;
  let finished: Promise<void> | undefined;

  const finish = () => {
    finished ??= (async () => {
      for (const controller of streams) {
        send(controller, event("end", {}));
        try {
          controller.close();
        } catch {
          // Already closed by the page.
        }
      }
      streams.clear();
      await server.shutdown();
    })();
    return finished;
  };

  return {
    url: `http://${hostname}:${actualPort}/`,
    port: actualPort,
    update(snapshot) {
      model.update(snapshot);
      const state = model.state()!;
      const series = model.series();
      const last = series.t.length - 1;
      const tick = event("tick", {
        state,
        point: {
          t: series.t[last],
          generated: series.generated[last],
          acknowledged: series.acknowledged[last],
          counted: series.counted[last],
          up: series.up[last],
          replicas: Object.fromEntries(
            Object.entries(series.replicas).map(([node, list]) => [node, list[last] ?? null]),
          ),
        },
      });
      for (const controller of streams) send(controller, tick);
    },
    finish,
    [Symbol.asyncDispose]: finish,
  };
}
