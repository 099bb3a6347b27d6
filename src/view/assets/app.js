// The live view's page: draws what /api/events streams (no build step; uPlot is served by the view).
"use strict";

const colors = { generated: "#1f6fb4", acknowledged: "#e07b00", counted: "#228b3b" };
const view = { points: 0, state: null, chart: null, data: [[], [], [], []], closed: false };
// For people and tests alike: what the page shows, as data.
globalThis.likesView = view;

const $ = (id) => document.getElementById(id);
const number = (n) => (n === null || n === undefined ? "–" : n.toLocaleString("en-US"));

function makeChart() {
  const el = $("chart");
  const opts = {
    width: Math.max(320, el.clientWidth - 16),
    height: 320,
    scales: { x: { time: false } },
    axes: [
      { label: "seconds since the run started" },
      { label: "likes", size: 70 },
    ],
    legend: { live: false },
    // Widest line below, narrowest on top: where the three agree, all three colours still show.
    series: [
      { label: "seconds" },
      { label: "generated (likes)", stroke: colors.generated, width: 6, points: { show: false } },
      {
        label: "acknowledged (likes)",
        stroke: colors.acknowledged,
        width: 3.5,
        points: { show: false },
      },
      {
        label: "counted by the server (likes)",
        stroke: colors.counted,
        width: 1.5,
        spanGaps: false,
        points: { show: false },
      },
    ],
  };
  view.chart = new uPlot(opts, view.data, el);
  globalThis.addEventListener("resize", () => {
    view.chart.setSize({ width: Math.max(320, el.clientWidth - 16), height: 320 });
  });
}

function render(state) {
  view.state = state;
  $("generated").textContent = number(state.generated);
  $("acknowledged").textContent = number(state.acknowledged);
  $("counted").textContent = number(state.counted);
  $("gap").textContent = number(state.gap);
  if (state.convergedNow) {
    $("since").textContent = "now";
    $("since-unit").textContent = "generated = acknowledged = counted";
  } else if (state.sinceConverged === null) {
    $("since").textContent = "not yet";
    $("since-unit").textContent = "";
  } else {
    $("since").textContent = state.sinceConverged.toFixed(1);
    $("since-unit").textContent = "seconds ago";
  }
  const server = $("server");
  server.textContent = state.serverUp ? "up" : "down";
  server.className = `value ${state.serverUp ? "up" : "down"}`;
  $("server-address").textContent = state.serverAddress;
  const body = $("rows").querySelector("tbody");
  body.replaceChildren(...state.rows.map((r) => {
    const tr = document.createElement("tr");
    if (r.status.startsWith("exited") && r.status !== "exited 0") tr.className = "exited-bad";
    for (
      const cell of [
        r.name,
        r.pid ?? "–",
        r.status,
        number(r.generated),
        number(r.acknowledged),
        number(r.counted),
        number(r.pending),
        number(r.unanswered),
      ]
    ) {
      const td = document.createElement("td");
      td.textContent = String(cell);
      tr.append(td);
    }
    return tr;
  }));
  const verdict = $("verdict");
  if (state.verdict) {
    verdict.hidden = false;
    verdict.textContent = state.verdict;
    verdict.className = `verdict${state.converged ? "" : " bad"}`;
  }
  $("footer").textContent =
    `run ${state.runId} · seed ${state.seed} · ${state.elapsed.toFixed(1)} s · ` +
    (state.finished ? "run finished" : view.closed ? "view stopped" : "live");
}

function load(series) {
  view.data = [series.t, series.generated, series.acknowledged, series.counted];
  view.points = series.t.length;
  if (!view.chart) makeChart();
  else view.chart.setData(view.data);
}

function append(point) {
  view.data[0].push(point.t);
  view.data[1].push(point.generated);
  view.data[2].push(point.acknowledged);
  view.data[3].push(point.counted);
  view.points++;
  view.chart.setData(view.data);
}

const events = new EventSource("/api/events");
events.addEventListener("state", (e) => {
  const message = JSON.parse(e.data);
  load(message.series);
  render(message.state);
});
events.addEventListener("tick", (e) => {
  const message = JSON.parse(e.data);
  append(message.point);
  render(message.state);
});
events.addEventListener("end", () => {
  view.closed = true;
  events.close();
  if (view.state) render(view.state);
});
events.addEventListener("error", () => {
  if (view.state?.finished) {
    view.closed = true;
    events.close();
    render(view.state);
  }
});
