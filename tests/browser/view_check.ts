/**
 * Opens the live view in headless Chromium (Debian's `/usr/bin/chromium`, driven by playwright-core),
 * waits until the chart has drawn and, with `--wait-verdict`, until the run's verdict is shown; then
 * prints what the page shows as one JSON line and saves a screenshot.
 *
 * It runs as its own process with its own grants (playwright reads every environment variable):
 *   deno run --allow-net=127.0.0.1 --allow-run=/usr/bin/chromium --allow-env --allow-sys=homedir
 *     --allow-read=/tmp --allow-write=/tmp,<dir of the screenshot> tests/browser/view_check.ts
 *     --url http://127.0.0.1:PORT/ --screenshot FILE [--wait-verdict] [--timeout SECONDS]
 *
 * @module
 */

import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const { values } = parseArgs({
  args: Deno.args,
  strict: true,
  options: {
    url: { type: "string" },
    screenshot: { type: "string" },
    "wait-verdict": { type: "boolean" },
    timeout: { type: "string", default: "30" },
    width: { type: "string", default: "1200" },
    chromium: { type: "string", default: "/usr/bin/chromium" },
  },
});
if (!values.url || !values.screenshot) throw new TypeError("--url and --screenshot are required");
const timeout = Number(values.timeout) * 1000;
await Deno.mkdir(dirname(values.screenshot), { recursive: true });

const browser = await chromium.launch({
  executablePath: values.chromium,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
try {
  const page = await browser.newPage({ viewport: { width: Number(values.width), height: 1000 } });
  await page.goto(values.url, { timeout });
  // In-page code is given as strings: this file is type-checked with Deno's types, not the DOM's.
  // The chart has drawn: uPlot's canvas exists and has painted pixels, from at least 2 points.
  await page.waitForFunction(
    `(() => {
      const view = globalThis.likesView;
      const canvas = document.querySelector("#chart canvas");
      if (!view || view.points < 2 || !canvas) return false;
      const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
      let painted = 0;
      for (let i = 3; i < pixels.length; i += 4 * 16) if (pixels[i] > 0) painted++;
      return painted > 50;
    })()`,
    undefined,
    { timeout, polling: 100 },
  );
  if (values["wait-verdict"]) {
    await page.waitForFunction(`!document.getElementById("verdict").hidden`, undefined, {
      timeout,
      polling: 100,
    });
  }
  const shown = await page.evaluate(`(() => {
    const text = (id) => document.getElementById(id).textContent.trim();
    const rows = [...document.querySelectorAll("#rows tbody tr")].map((tr) => {
      const [name, pid, status, generated, acknowledged, counted, pending, unanswered] =
        [...tr.querySelectorAll("td")].map((td) => td.textContent.trim());
      return { name, pid, status, generated, acknowledged, counted, pending, unanswered };
    });
    return {
      title: document.querySelector("h1").textContent,
      points: globalThis.likesView.points,
      generated: text("generated"),
      acknowledged: text("acknowledged"),
      counted: text("counted"),
      gap: text("gap"),
      server: text("server"),
      since: text("since"),
      verdict: document.getElementById("verdict").hidden ? null : text("verdict"),
      legend: [...document.querySelectorAll("#chart .u-legend .u-label")].map((e) => e.textContent),
      gapLegend: [...document.querySelectorAll("#gap-chart .u-legend .u-label")].map((e) => e.textContent),
      gapSeries: globalThis.likesView.gap.data.slice(1),
      gapPoints: globalThis.likesView.gap.data[0].length,
      dashed: globalThis.likesView.chart.series.map((s) => Array.isArray(s.dash) && s.dash.length > 0),
      rows,
      replicas: [...document.querySelectorAll("#replicas tbody tr")].map((tr) => {
        const [node, total, behind] = [...tr.querySelectorAll("td")].map((td) => td.textContent.trim());
        return { node, total, behind };
      }),
    };
  })()`);
  await page.screenshot({ path: values.screenshot, fullPage: true });
  Deno.stdout.writeSync(new TextEncoder().encode(`${JSON.stringify(shown)}\n`));
} finally {
  await browser.close();
}
