/**
 * The live view in headless Chromium: the chart draws, and the numbers on the page match the
 * parent's final JSON report. A screenshot is saved to .artifacts/view.png (not committed).
 * Skipped when Debian's chromium is not installed (`.ci/run` installs it).
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { PROJECT, startServer } from "../src/launch/processes.ts";
import type { RunReport } from "../src/parent/run_report.ts";
import { spawnDeno } from "../src/launch/child_process.ts";
import type { ClusterReport } from "../src/overlay/cli/cluster_report.ts";
import { clusterText } from "./_overlay.ts";
import { nameIfSkipped, runDeno, startParentWithView, tempDir, viewUrl } from "./_helpers.ts";
import { toolMissing, toolPath } from "./_tools.ts";

const CHROMIUM = toolPath("chromium");
const noChromium = toolMissing("chromium", true);
const hasChromium = noChromium === null;
const ARTIFACTS = fileURLToPath(new URL("../.artifacts", import.meta.url));

const number = (text: string) => Number(text.replaceAll(",", ""));

/**
 * Runs tests/browser/view_check.ts against `url` until the verdict shows; it prints what the page
 * shows as JSON and saves a screenshot. playwright-core reads every environment variable, so this
 * child gets an unscoped --allow-env; __IS_WSL_TEST__ skips its WSL probe of /proc, which Deno
 * allows only with -A.
 */
function checkView(url: string, screenshot: string) {
  return runDeno(
    [
      "run",
      "--no-prompt",
      `--config=${PROJECT.config}`,
      "--allow-net=127.0.0.1",
      `--allow-run=${CHROMIUM}`,
      "--allow-env",
      "--allow-sys=homedir,osRelease",
      `--allow-read=/tmp,${CHROMIUM}`,
      `--allow-write=/tmp,${ARTIFACTS}`,
      fileURLToPath(new URL("./browser/view_check.ts", import.meta.url)),
      `--url=${url}`,
      `--screenshot=${screenshot}`,
      `--chromium=${CHROMIUM}`,
      "--wait-verdict",
      "--timeout=60",
    ],
    120_000,
    { __IS_WSL_TEST__: "1" },
  );
}

Deno.test({
  name: nameIfSkipped(
    "the live view draws in Chromium and shows the parent's final numbers",
    noChromium,
  ),
  ignore: !hasChromium,
  async fn() {
    await using dir = await tempDir();
    await using server = await startServer({ logDir: dir.path, workers: 1 });
    const { parent, url, rest, stdout } = await startParentWithView(server.port, dir.path, [
      "--children=4",
      "--stagger=0.05",
      "--duration=5",
      "--min-interval=0.05",
      "--max-interval=0.2",
      "--json",
    ]);
    const screenshot = `${ARTIFACTS}/view.png`;
    const browser = await checkView(url, screenshot);

    const status = await parent.status;
    assert.equal(status.code, 0, await rest);
    assert.equal(browser.code, 0, browser.stderr);
    const report: RunReport = JSON.parse(await stdout);
    const shown = JSON.parse(browser.stdout);

    assert.equal(shown.title, "Likes: watch eventual consistency converge");
    assert.ok(shown.points >= 2, "the chart drew from several points");
    assert.deepEqual(shown.legend, [
      "generated (likes)",
      "acknowledged (likes)",
      "counted by the server (likes)",
    ]);
    // The counted line is dashed on top of a wider acknowledged line: both show where they agree.
    assert.deepEqual(shown.dashed, [false, false, false, true]);
    assert.equal(shown.verdict, report.verdict);
    assert.equal(number(shown.generated), report.totals.generated);
    assert.equal(number(shown.acknowledged), report.totals.acknowledged);
    assert.equal(number(shown.counted), report.totals.counted);
    assert.equal(number(shown.gap), 0);
    // The gap chart: over the same times, what was not yet acknowledged and not yet counted;
    // never negative, and closed at the end.
    assert.deepEqual(shown.gapLegend, [
      "not yet acknowledged: generated − acknowledged (likes)",
      "not yet counted: generated − counted (likes)",
    ]);
    assert.equal(shown.gapPoints, shown.points);
    const [unacknowledged, uncounted] = shown.gapSeries as (number | null)[][];
    for (const series of [unacknowledged!, uncounted!]) {
      assert.ok(series.every((v) => v === null || v >= 0), `never negative: ${series}`);
    }
    assert.equal(unacknowledged!.at(-1), 0, "closed at the end");
    assert.equal(uncounted!.at(-1), 0, "closed at the end");
    assert.deepEqual(
      shown.rows.map((
        r: Record<string, string>,
      ) => [r.name, number(r.generated!), number(r.acknowledged!), number(r.counted!), r.status]),
      report.children.map((c) => [c.name, c.generated, c.acknowledged, c.counted, "exited 0"]),
    );
    assert.ok((await Deno.stat(screenshot)).size > 10_000, "the screenshot was saved");
  },
});

Deno.test({
  name: nameIfSkipped(
    "the cluster's live view draws one line per node's replica, converging on the owners' count",
    noChromium,
  ),
  ignore: !hasChromium,
  async fn() {
    await using dir = await tempDir("likes-cluster-view-");
    await Deno.writeTextFile(`${dir.path}/cluster.json`, clusterText());
    const cluster = spawnDeno([
      "run",
      "--no-prompt",
      `--config=${PROJECT.config}`,
      "--allow-net=127.0.0.1",
      `--allow-read=.,${dir.path}`,
      "--allow-run=deno",
      "--allow-write=/tmp",
      "cluster.ts",
      `--config=${dir.path}/cluster.json`,
      `--dir=${dir.path}/run`,
      "--duration=4",
      "--likes-servers-per-node=1",
      "--gossip-interval=0.5",
      "--view-port=0",
      "--json",
    ]);
    const stdout = new Response(cluster.stdout).text();
    const { url, rest } = await viewUrl(cluster.stderr);
    const screenshot = `${ARTIFACTS}/cluster-view.png`;
    const browser = await checkView(url, screenshot);

    const status = await cluster.status;
    assert.equal(status.code, 0, await rest);
    assert.equal(browser.code, 0, browser.stderr);
    const report: ClusterReport = JSON.parse(await stdout);
    const shown = JSON.parse(browser.stdout);
    assert.deepEqual(shown.legend, [
      "counted by the owners (likes)",
      ...["A", "B", "C", "D", "E"].map((id) => `${id}'s replica of the total (likes)`),
    ]);
    assert.equal(shown.verdict, report.verdict);
    assert.equal(number(shown.counted), report.generated);
    assert.deepEqual(
      shown.replicas.map((r: Record<string, string>) => [r.node, number(r.total!), r.behind]),
      report.nodes.map((n) => [n.id, n.replicaTotal, "0"]),
    );
    assert.deepEqual(shown.gapLegend, ["most behind the owners, of all replicas (likes)"]);
    const [lag] = shown.gapSeries as (number | null)[][];
    assert.equal(lag!.length, shown.points);
    assert.ok(lag!.every((v) => v === null || v >= 0), `never negative: ${lag}`);
    assert.ok((await Deno.stat(screenshot)).size > 10_000, "the screenshot was saved");
  },
});
