import assert from "node:assert/strict";
import { UsageError } from "../cli/flags.ts";
import { parseViewerFlags } from "./run_viewer.ts";

Deno.test("parseViewerFlags() listens on 127.0.0.1:4318 by default and takes seconds for --metrics-every", () => {
  assert.deepEqual(parseViewerFlags([]), {
    host: "127.0.0.1",
    port: 4318,
    traceWaitMs: 6000,
    metricsEveryMs: 10_000,
  });
  assert.deepEqual(parseViewerFlags(["--port=0", "--metrics-every=0.5", "--trace-wait=1"]), {
    host: "127.0.0.1",
    port: 0,
    traceWaitMs: 1000,
    metricsEveryMs: 500,
  });
  assert.equal(parseViewerFlags(["--help"]), "help");
  assert.throws(() => parseViewerFlags(["--port=70000"]), UsageError);
  assert.throws(() => parseViewerFlags(["--metrics-every=-1"]), UsageError);
});
