// The live view's page: draws what /api/events streams (no build step; uPlot is served by the view).
"use strict";

const colors = { generated: "#1f6fb4", acknowledged: "#e07b00", counted: "#228b3b" };
const replicaColors = ["#7b3fa0", "#c2185b", "#00838f", "#6d4c41", "#f9a825", "#455a64"];
// `nodes`: an overlay run's replica lines, by node (none in a likes run).
const view = {
  points: 0,
  state: null,
  chart: null,
  data: [[], [], [], []],
  nodes: [],
  up: [],
  closed: false,
  // The gap chart: what has not yet caught up, over the same times.
  gap: { chart: null, data: [[], [], []] },
};
// For people and tests alike: what the page shows, as data.
globalThis.likesView = view;

const $ = (id) => document.getElementById(id);
const number = (n) => (n === null || n === undefined ? "–" : n.toLocaleString("en-US"));

/** Fills the time ranges in which the server was down (from `view.up`) with a light red band. */
function shadeDowntime(u) {
  const { ctx } = u;
  const { top, height } = u.bbox;
  const t = view.data[0];
  ctx.save();
  ctx.fillStyle = "rgba(200, 40, 40, 0.12)";
  for (let i = 0; i < t.length; i++) {
    if (view.up[i] !== false) continue;
    let j = i;
    while (j + 1 < t.length && view.up[j + 1] === false) j++;
    const x0 = u.valToPos(t[i], "x", true);
    const x1 = u.valToPos(t[Math.min(j + 1, t.length - 1)], "x", true);
    ctx.fillRect(x0, top, Math.max(2, x1 - x0), height);
    i = j;
  }
  ctx.restore();
}

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
    // Shade where the server did not answer: a chaos run's kills and restarts show as bands.
    hooks: { drawAxes: [shadeDowntime] },
    // Widest line below, narrowest on top, the top one dashed: where the three agree, all three
    // colours still show (the orange between the green dashes, the blue at the edges).
    series: [
      { label: "seconds" },
      { label: "generated (likes)", stroke: colors.generated, width: 7, points: { show: false } },
      {
        label: "acknowledged (likes)",
        stroke: colors.acknowledged,
        width: 4,
        points: { show: false },
      },
      {
        label: "counted by the server (likes)",
        stroke: colors.counted,
        width: 2,
        dash: [8, 6],
        spanGaps: false,
        points: { show: false },
      },
      ...view.nodes.map((node, i) => ({
        label: `${node}'s replica of the total (likes)`,
        stroke: replicaColors[i % replicaColors.length],
        width: 1.5,
        dash: [6, 4],
        spanGaps: false,
        points: { show: false },
      })),
    ],
  };
  if (view.nodes.length > 0) {
    // An overlay run: the owners' count and one line per replica, converging onto it.
    opts.series.splice(1, 2);
    opts.series[1].label = "counted by the owners (likes)";
    opts.series[1].width = 6;
  }
  view.chart = new uPlot(opts, view.data, el);
  globalThis.addEventListener("resize", () => {
    view.chart.setSize({ width: Math.max(320, el.clientWidth - 16), height: 320 });
  });
}

const gapColors = { unacknowledged: "#e07b00", uncounted: "#c0392b", lag: "#7b3fa0" };

/**
 * The gap series from the main chart's data: in a likes run, generated − acknowledged (held by the
 * LikesServers) and generated − counted; in an overlay run, the largest replica lag (owners' count
 * minus a replica), each `null` where a count is unknown.
 */
function gapData() {
  const [t, ...series] = view.data;
  const minus = (
    a,
    b,
  ) => (a === null || a === undefined || b === null || b === undefined ? null : a - b);
  if (view.nodes.length > 0) {
    const [counted, ...replicas] = series;
    const lag = t.map((_, i) => {
      const behind = replicas.map((r) => minus(counted[i], r[i])).filter((d) => d !== null);
      return behind.length === 0 ? null : Math.max(...behind);
    });
    return [t, lag];
  }
  const [generated, acknowledged, counted] = series;
  return [
    t,
    t.map((_, i) => minus(generated[i], acknowledged[i])),
    t.map((_, i) => minus(generated[i], counted[i])),
  ];
}

function makeGapChart() {
  const el = $("gap-chart");
  const overlay = view.nodes.length > 0;
  const line = (label, stroke, width) => ({
    label,
    stroke,
    width,
    spanGaps: false,
    points: { show: false },
  });
  view.gap.chart = new uPlot(
    {
      width: Math.max(320, el.clientWidth - 16),
      height: 180,
      scales: { x: { time: false } },
      axes: [{ label: "seconds since the run started" }, { label: "likes", size: 70 }],
      legend: { live: false },
      hooks: { drawAxes: [shadeDowntime] },
      series: [
        { label: "seconds" },
        ...(overlay
          ? [line("most behind the owners, of all replicas (likes)", gapColors.lag, 2)]
          : [
            line(
              "not yet acknowledged: generated − acknowledged (likes)",
              gapColors.unacknowledged,
              3,
            ),
            line("not yet counted: generated − counted (likes)", gapColors.uncounted, 1.5),
          ]),
      ],
    },
    view.gap.data,
    el,
  );
  globalThis.addEventListener("resize", () => {
    view.gap.chart.setSize({ width: Math.max(320, el.clientWidth - 16), height: 180 });
  });
}

function drawGap() {
  view.gap.data = gapData();
  if (!view.gap.chart) makeGapChart();
  else view.gap.chart.setData(view.gap.data);
}

function render(state) {
  view.state = state;
  const cluster = state.replicas.length > 0;
  $("generated").textContent = number(state.generated);
  $("acknowledged").textContent = number(state.acknowledged);
  $("counted").textContent = number(state.counted);
  $("gap").textContent = number(state.gap);
  if (state.convergedNow) {
    $("since").textContent = "now";
    $("since-unit").textContent = cluster
      ? "every replica = the owners' count"
      : "generated = acknowledged = counted";
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
  for (const el of document.querySelectorAll(".likes-only")) el.hidden = cluster;
  $("replicas-section").hidden = !cluster;
  $("cluster-lede").hidden = !cluster;
  $("counted-label").textContent = cluster ? "counted by the owners" : "counted by the server";
  if (cluster) {
    $("gap-hint").textContent =
      "(how far the replica furthest behind is from what the owners counted: it closes as gossip catches up)";
    $("chart-hint").textContent =
      "(seconds since the run started; the thick line is what the owners counted, each thin one a node's replica of it catching up)";
  }
  $("server-label").textContent = cluster ? "portal" : "PrimaryLikesServer";
  if (cluster) {
    $("replicas").querySelector("tbody").replaceChildren(...state.replicas.map((r) => {
      const tr = document.createElement("tr");
      const behind = r.total === null || state.counted === null ? null : state.counted - r.total;
      const cells = [
        r.node,
        r.total === null ? "down" : number(r.total),
        number(behind),
        r.neighbours,
      ];
      for (const cell of cells) {
        const td = document.createElement("td");
        td.textContent = String(cell);
        tr.append(td);
      }
      return tr;
    }));
  }
  const verdict = $("verdict");
  if (state.verdict) {
    verdict.hidden = false;
    verdict.textContent = state.verdict;
    verdict.className = `verdict${state.converged ? "" : " bad"}`;
  }
  $("footer").textContent =
    `run ${state.runId} · ${cluster ? "" : `seed ${state.seed} · `}${
      state.elapsed.toFixed(1)
    } s · ` +
    (state.finished ? "run finished" : view.closed ? "view stopped" : "live");
}

function load(series) {
  view.nodes = Object.keys(series.replicas ?? {}).sort();
  view.up = series.up ?? [];
  view.data = view.nodes.length > 0
    ? [series.t, series.counted, ...view.nodes.map((node) => series.replicas[node])]
    : [series.t, series.generated, series.acknowledged, series.counted];
  view.points = series.t.length;
  if (!view.chart) makeChart();
  else view.chart.setData(view.data);
  drawGap();
}

function append(point) {
  view.data[0].push(point.t);
  view.up.push(point.up !== false);
  if (view.nodes.length > 0) {
    view.data[1].push(point.counted);
    view.nodes.forEach((node, i) => view.data[2 + i].push(point.replicas?.[node] ?? null));
  } else {
    view.data[1].push(point.generated);
    view.data[2].push(point.acknowledged);
    view.data[3].push(point.counted);
  }
  view.points++;
  view.chart.setData(view.data);
  drawGap();
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
