/**
 * `deno task otel`, the viewer that needs nothing installed: real processes export to it, and
 * it prints their likes.* metrics by service and each trace as a tree.
 */

import assert from "node:assert/strict";
import { PROJECT, startListening, startServer } from "../src/launch/processes.ts";
import { LineClient } from "../src/protocol/line_client.ts";
import { TEST_SECRET_TEXT } from "./_overlay.ts";
import { freePort, runDeno, tempDir, until } from "./_helpers.ts";

Deno.test("deno task otel prints the server's likes.* metrics and a query's trace as they arrive", async () => {
  await using dir = await tempDir("likes-otel-viewer-test-");
  const viewer = await startListening("otel viewer", [
    "task",
    `--config=${PROJECT.config}`,
    "otel",
    "--port=0",
    "--metrics-every=0.2",
    "--trace-wait=0.5",
  ]);
  try {
    const endpoint = `http://${viewer.host}:${viewer.port}`;
    const otel = (service: string) => ({
      OTEL_DENO: "true",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_SERVICE_NAME: service,
    });
    const server = await startServer({ logDir: dir.path, env: otel("likes-viewer-test") });
    {
      using client = await LineClient.connect({ port: server.port });
      for (const likes of [5, 7, 30]) {
        assert.equal(await client.request(`LikesServer1 ${likes}`), "ACK");
      }
    }
    assert.equal((await server.stop("SIGTERM")).code, 0);
    // A query to a port where no node listens: its trace is one span, marked as an error. It
    // needs the cluster's secret (a clean clone has no cluster.key), so it names one of its own.
    const secretFile = `${dir.path}/cluster.key`;
    await Deno.writeTextFile(secretFile, TEST_SECRET_TEXT, { mode: 0o600 });
    const query = await runDeno(
      [
        "run",
        "--allow-net=127.0.0.1",
        `--allow-read=${secretFile}`,
        PROJECT.query,
        "get_all",
        `--server=127.0.0.1:${freePort()}`,
        `--secret-file=${secretFile}`,
      ],
      30_000,
      otel("likes-query-test"),
    );
    assert.equal(query.code, 1, query.stderr);
    const seen = () => viewer.output().stdout;
    await until(
      "the viewer shows the metrics and the trace",
      () =>
        Promise.resolve(
          /likes\.counted +42\b/.test(seen()) && /query get_all +likes-query-test/.test(seen()),
        ),
      10_000,
    ).catch(() => assert.fail(`the viewer did not show both:\n${seen()}`));
  } finally {
    assert.equal((await viewer.stop("SIGTERM")).code, 0);
  }
  const out = viewer.output().stdout;
  assert.match(out, /^likes-viewer-test +likes\.counted +42$/m);
  assert.match(
    out,
    /^likes-viewer-test +likes\.messages \{protocol=classic, result=counted\} +3$/m,
  );
  assert.match(out, /^likes-viewer-test +likes\.ack\.duration +count 3, mean [\d.]+ ms$/m);
  assert.match(
    out,
    /^trace [0-9a-f]{32}\nquery get_all +likes-query-test +[\d.]+ ms +ERROR +verb=get_all/m,
  );
});
