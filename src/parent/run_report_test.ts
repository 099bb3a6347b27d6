import assert from "node:assert/strict";
import { buildReport, type ChildOutcome, formatReport } from "./run_report.ts";

function child(n: number, overrides: Partial<ChildOutcome> = {}): ChildOutcome {
  return {
    name: `LikesServer${n}`,
    clientId: `LikesServer${n}-run`,
    pid: 100 + n,
    exitCode: 0,
    signal: null,
    generated: 10 * n,
    acknowledged: 10 * n,
    unanswered: 0,
    counted: 10 * n,
    runtimeMs: 1500,
    ...overrides,
  };
}

const base = {
  runId: "run",
  seed: 7,
  address: "127.0.0.1:4242",
  serverTotal: 30,
  serverError: null,
  interrupted: null,
};

Deno.test("buildReport() converges when every child exited 0 with generated = acknowledged = counted", () => {
  const report = buildReport({ ...base, children: [child(1), child(2)] });
  assert.equal(report.converged, true);
  assert.deepEqual(report.totals, { generated: 30, acknowledged: 30, unanswered: 0, counted: 30 });
  assert.match(report.verdict, /^CONVERGED: all 2 LikesServers exited 0 .* \(30 likes\)$/);
  assert.ok(report.children.every((r) => r.converged));
});

Deno.test("buildReport() names each reason a child did not converge", async (t) => {
  const cases: [ChildOutcome, RegExp][] = [
    [child(2, { exitCode: 1 }), /LikesServer2 exit 1/],
    [child(2, { exitCode: 143, signal: "SIGTERM" }), /LikesServer2 ended by SIGTERM/],
    [child(2, { acknowledged: 15 }), /LikesServer2 acknowledged 15 of 20/],
    [child(2, { counted: 25 }), /LikesServer2 counted 25 of 20/],
    [child(2, { counted: null }), /LikesServer2 count unknown/],
    [
      child(2, { acknowledged: 12, unanswered: 8 }),
      /LikesServer2 acknowledged 12 of 20, 8 likes sent without an answer/,
    ],
    [
      child(2, { pid: null, exitCode: null, generated: 0, acknowledged: 0, counted: 0 }),
      /never started/,
    ],
  ];
  for (const [bad, reason] of cases) {
    await t.step(reason.source, () => {
      const report = buildReport({ ...base, children: [child(1), bad] });
      assert.equal(report.converged, false);
      assert.match(report.verdict, /^NOT CONVERGED: /);
      assert.match(report.verdict, reason);
      assert.equal(report.children[0]!.converged, true);
      assert.equal(report.children[1]!.converged, false);
    });
  }
});

Deno.test("buildReport() does not converge when interrupted, without children, or without STATS", () => {
  const interrupted = buildReport({ ...base, children: [child(1)], interrupted: "SIGINT" });
  assert.equal(interrupted.converged, false);
  assert.match(
    interrupted.verdict,
    /^INTERRUPTED by SIGINT: what the 1 LikesServer sent converged/,
  );
  assert.match(
    buildReport({ ...base, children: [child(1, { exitCode: 1 })], interrupted: "SIGTERM" }).verdict,
    /^INTERRUPTED by SIGTERM: LikesServer1 exit 1$/,
  );
  assert.match(buildReport({ ...base, children: [] }).verdict, /no LikesServers ran/);
  const noStats = buildReport({
    ...base,
    children: [child(1, { counted: null })],
    serverTotal: null,
    serverError: "ConnectionRefused",
  });
  assert.equal(noStats.totals.counted, null);
  assert.match(noStats.verdict, /STATS failed: ConnectionRefused/);
});

Deno.test("buildReport() against a server without STATS says so, and converges on acknowledgements", () => {
  const classic = {
    ...base,
    serverTotal: null,
    serverError: "ProtocolError: STATS reply is not JSON",
    serverHasStats: false,
  };
  const ok = buildReport({ ...classic, children: [child(1, { counted: null })] });
  assert.equal(ok.converged, true);
  assert.equal(
    ok.verdict,
    "CONVERGED: all 1 LikesServer exited 0 and generated = acknowledged (10 likes); counted: not available, the server has no STATS",
  );
  const text = formatReport(ok);
  assert.match(text, /^LikesServer1\s+101\s+0\s+1\.5\s+10\s+10\s+0\s+n\/a\s+yes$/m);
  assert.match(
    text,
    /^server 127\.0\.0\.1:4242: counted: not available, the server has no STATS \(ProtocolError: STATS reply is not JSON\)$/m,
  );
  const silent = buildReport({
    ...classic,
    children: [child(1, { counted: null, acknowledged: 4, unanswered: 6, exitCode: 1 })],
  });
  assert.equal(silent.converged, false);
  assert.equal(
    silent.verdict,
    "NOT CONVERGED: LikesServer1 exit 1, acknowledged 4 of 10, 6 likes sent without an answer; counted: not available, the server has no STATS",
  );
});

Deno.test("formatReport() prints an aligned table, the server total and the verdict", () => {
  const text = formatReport(
    buildReport({ ...base, children: [child(1), child(2, { counted: 19 })] }),
  );
  const lines = text.split("\n");
  assert.match(
    lines[0]!,
    /^LikesServer\s+pid\s+exit\s+seconds\s+generated\s+acknowledged\s+no answer\s+counted\s+converged$/,
  );
  assert.match(lines[1]!, /^LikesServer1\s+101\s+0\s+1\.5\s+10\s+10\s+0\s+10\s+yes$/);
  assert.match(lines[2]!, /^LikesServer2\s+102\s+0\s+1\.5\s+20\s+20\s+0\s+19\s+NO$/);
  assert.match(lines[3]!, /^total\s+30\s+30\s+0\s+29$/);
  assert.ok(lines.includes("server 127.0.0.1:4242: total 30 likes (all clients, from STATS)"));
  assert.ok(
    lines.some((l) => l.startsWith("verdict: NOT CONVERGED: LikesServer2 counted 19 of 20")),
  );
  assert.equal(new Set(lines.slice(0, 3).map((l) => l.length)).size, 1, "columns are aligned");
});
