import assert from "node:assert/strict";
import type { ChildSnapshot, RunSnapshot } from "./run_snapshot.ts";
import { ViewModel } from "./view_model.ts";

function child(
  n: number,
  generated: number,
  acknowledged: number,
  state: ChildSnapshot["state"] = "alive",
): ChildSnapshot {
  return {
    name: `LikesServer${n}`,
    clientId: `LikesServer${n}-r`,
    pid: 100 + n,
    state,
    exitCode: state === "exited" ? 0 : null,
    generated,
    acknowledged,
    unanswered: 0,
  };
}

function snapshot(
  at: number,
  children: ChildSnapshot[],
  clients: Record<string, number> | null,
  extra: Partial<RunSnapshot> = {},
): RunSnapshot {
  return {
    runId: "r",
    seed: 1,
    startedAt: 1000,
    at,
    serverAddress: "127.0.0.1:4242",
    serverUp: clients !== null,
    serverTotal: clients === null ? null : Object.values(clients).reduce((a, b) => a + b, 0),
    serverClients: clients ?? {},
    children,
    verdict: null,
    converged: null,
    ...extra,
  };
}

Deno.test("ViewModel turns snapshots into totals, rows, a gap and a series", () => {
  const model = new ViewModel();
  assert.equal(model.state(), null);
  model.update(
    snapshot(1250, [child(1, 10, 8), child(2, 5, 5)], {
      "LikesServer1-r": 7,
      "LikesServer2-r": 5,
      other: 99,
    }),
  );
  const state = model.state()!;
  assert.equal(state.elapsed, 0.25);
  assert.deepEqual([state.generated, state.acknowledged, state.counted, state.gap], [
    15,
    13,
    12,
    3,
  ]);
  assert.equal(state.convergedNow, false);
  assert.equal(state.sinceConverged, null);
  assert.deepEqual(state.rows[0], {
    name: "LikesServer1",
    pid: 101,
    status: "alive",
    generated: 10,
    acknowledged: 8,
    counted: 7,
    pending: 2,
    unanswered: 0,
  });
  assert.deepEqual(model.series(), {
    t: [0.25],
    generated: [15],
    acknowledged: [13],
    counted: [12],
    replicas: {},
    up: [true],
  });
  assert.deepEqual(state.replicas, []);
});

Deno.test("ViewModel tracks when generated, acknowledged and counted last met", () => {
  const model = new ViewModel();
  model.update(snapshot(2000, [child(1, 4, 4)], { "LikesServer1-r": 4 }));
  assert.equal(model.state()!.convergedNow, true);
  assert.equal(model.state()!.sinceConverged, 0);
  model.update(snapshot(3500, [child(1, 9, 4)], null));
  const down = model.state()!;
  assert.equal(down.serverUp, false);
  assert.equal(down.counted, null);
  assert.equal(down.gap, null);
  assert.equal(down.sinceConverged, 1.5);
  assert.deepEqual(model.series().counted, [4, null]);
  assert.deepEqual(
    model.series().up,
    [true, false],
    "the chart shades the point the server missed",
  );
  model.update(
    snapshot(4000, [child(1, 9, 9, "exited")], { "LikesServer1-r": 9 }, {
      verdict: "CONVERGED: …",
      converged: true,
    }),
  );
  const end = model.state()!;
  assert.deepEqual([end.finished, end.converged, end.rows[0]!.status, end.sinceConverged], [
    true,
    true,
    "exited 0",
    0,
  ]);
});

Deno.test("ViewModel keeps at most maxPoints points", () => {
  const model = new ViewModel({ maxPoints: 3 });
  for (let i = 1; i <= 5; i++) {
    model.update(snapshot(1000 + i * 1000, [child(1, i, i)], { "LikesServer1-r": i }));
  }
  assert.deepEqual(model.series(), {
    t: [3, 4, 5],
    generated: [3, 4, 5],
    acknowledged: [3, 4, 5],
    counted: [3, 4, 5],
    replicas: {},
    up: [true, true, true],
  });
});

Deno.test("ViewModel, overlay run: the owners' count, each node's replica, converged when all meet", () => {
  const model = new ViewModel({ maxPoints: 2 });
  const overlay = (at: number, total: number | null, replicas: Record<string, number | null>) =>
    snapshot(at, [], null, { serverUp: true, serverTotal: total, replicas });
  model.update({
    ...overlay(2000, 10, { A: 7, B: 10 }),
    neighbours: { A: "B up (heard 0.1 s ago)" },
  });
  let state = model.state()!;
  assert.deepEqual(state.replicas, [
    { node: "A", total: 7, neighbours: "B up (heard 0.1 s ago)" },
    { node: "B", total: 10, neighbours: "" },
  ]);
  assert.equal(state.counted, 10, "the owners' total, not a sum over LikesServer rows");
  assert.equal(state.convergedNow, false);
  model.update(overlay(3000, 12, { B: 12, A: null })); // A down
  model.update(overlay(4000, 12, { A: 12, B: 12 }));
  state = model.state()!;
  assert.equal(state.convergedNow, true);
  assert.deepEqual(model.series().replicas, { A: [null, 12], B: [12, 12] });
  assert.deepEqual(model.series().counted, [12, 12]);
});
