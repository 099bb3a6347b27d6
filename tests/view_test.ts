/**
 * The live view against a real short run: `/api/state`, the event stream (at least 4 updates a
 * second), the final verdict, and a parent that stops even while a page is still connected.
 */

import assert from "node:assert/strict";
import { startServer } from "../src/launch/processes.ts";
import type { RunReport } from "../src/parent/run_report.ts";
import type { ViewSeries, ViewState } from "../src/view/view_model.ts";
import { startParentWithView, tempDir } from "./_helpers.ts";

/** Collects server-sent events (name and parsed data) until the stream ends. */
async function readEvents(
  response: Response,
  onEvent: (name: string, data: unknown) => void,
): Promise<void> {
  let buffer = "";
  for await (const text of response.body!.pipeThrough(new TextDecoderStream())) {
    buffer += text;
    for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const name = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (name && data) onEvent(name, JSON.parse(data));
    }
  }
}

Deno.test("the live view serves the run's state and a stream of updates, and lets the parent stop", async () => {
  await using dir = await tempDir();
  await using server = await startServer({ logDir: dir.path, workers: 1 });
  const { parent, url, rest, stdout } = await startParentWithView(server.port, dir.path, [
    "--children=3",
    "--stagger=0.05",
    "--duration=3",
    "--min-interval=0.05",
    "--max-interval=0.15",
    "--json",
  ]);

  const page = await fetch(url);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<h1>Likes: watch eventual consistency converge<\/h1>/);
  for (const asset of ["app.js", "app.css", "uplot.js", "uplot.css"]) {
    const response = await fetch(new URL(asset, url));
    assert.equal(response.status, 200, asset);
    assert.ok((await response.text()).length > 100, asset);
  }
  const missing = await fetch(new URL("nope", url));
  assert.equal(missing.status, 404);
  await missing.body?.cancel();

  // The stream stays open until the run ends: the parent must not wait for it.
  const events: { name: string; at: number; data: unknown }[] = [];
  const stream = fetch(new URL("api/events", url)).then((r) =>
    readEvents(r, (name, data) => events.push({ name, at: performance.now(), data }))
  );

  await new Promise((r) => setTimeout(r, 1500));
  const { state, series } = await (await fetch(new URL("api/state", url))).json() as {
    state: ViewState;
    series: ViewSeries;
  };
  assert.equal(state.rows.length, 3);
  assert.ok(state.generated > 0 && state.serverUp);
  assert.ok(series.t.length >= 4 && series.t.length === series.counted.length);

  // A parent that waited for the open stream would never end: give it 30 s, then fail.
  const watchdog = setTimeout(() => parent.kill("SIGKILL"), 30_000);
  const status = await parent.status;
  clearTimeout(watchdog);
  await stream;
  assert.notEqual(status.signal, "SIGKILL", "the parent stopped by itself with a page connected");
  assert.equal(status.code, 0, await rest);
  const report: RunReport = JSON.parse(await stdout);
  assert.equal(events[0]?.name, "state");
  assert.equal(events.at(-1)?.name, "end", "the stream ends when the run does");
  const ticks = events.filter((e) => e.name === "tick");
  const window = ticks.filter((e) => e.at - ticks[0]!.at <= 1000);
  assert.ok(window.length >= 4, `${window.length} updates in the first second of ticks`);
  const last = (ticks.at(-1)!.data as { state: ViewState }).state;
  assert.equal(last.verdict, report.verdict);
  assert.equal(last.converged, true);
  assert.deepEqual([last.generated, last.acknowledged, last.counted], [
    report.totals.generated,
    report.totals.acknowledged,
    report.totals.counted,
  ]);
  assert.deepEqual(
    last.rows.map((r) => [r.name, r.generated, r.acknowledged, r.counted, r.status]),
    report.children.map((c) => [c.name, c.generated, c.acknowledged, c.counted, "exited 0"]),
  );
});
