import assert from "node:assert/strict";
import fc from "fast-check";
import { LatencyRecorder } from "./latency.ts";

Deno.test("LatencyRecorder.summary() of nothing is zeros", () => {
  assert.deepEqual(new LatencyRecorder().summary(), {
    count: 0,
    mean: 0,
    p50: 0,
    p99: 0,
    p999: 0,
    max: 0,
  });
});

Deno.test("LatencyRecorder keeps every sample across chunks and merges", () => {
  const a = new LatencyRecorder();
  const b = new LatencyRecorder();
  for (let i = 0; i < 100_000; i++) a.add(i % 10);
  b.add(1000);
  a.merge(b);
  const s = a.summary();
  assert.equal(s.count, 100_001);
  assert.equal(s.max, 1000);
  assert.equal(s.p50, 5, "rank ceil(0.5 × 100001) = 50001 is the first 5");
  assert.equal(s.p99, 9);
});

Deno.test("property: percentiles are ordered samples from the input", () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: 0, max: 1e4, noNaN: true }), { minLength: 1, maxLength: 300 }),
      (xs) => {
        const recorder = new LatencyRecorder();
        xs.forEach((x) => recorder.add(x));
        const s = recorder.summary();
        assert.ok(s.p50 <= s.p99 && s.p99 <= s.p999 && s.p999 <= s.max);
        for (const p of [s.p50, s.p99, s.p999, s.max]) assert.ok(xs.includes(p));
        assert.equal(s.max, Math.max(...xs));
      },
    ),
  );
});
