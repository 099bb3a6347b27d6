import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeJson, encodeFrame, FrameError, FrameReader } from "./frame.ts";

Deno.test("FrameReader reads frames split anywhere and back to back", () => {
  const stream = new Uint8Array([
    ...encodeFrame({ verb: "get_by_key", params: ["a", "b"] }),
    ...encodeFrame("é ✓"),
    ...encodeFrame(42),
  ]);
  const reader = new FrameReader();
  const values = [];
  for (const byte of stream) values.push(...reader.push(new Uint8Array([byte])).map(decodeJson));
  assert.deepEqual(values, [{ verb: "get_by_key", params: ["a", "b"] }, "é ✓", 42]);
  assert.equal(reader.hasPartial, false);
});

Deno.test("FrameReader refuses a frame over the limit from its header, before buffering it", () => {
  const reader = new FrameReader(100);
  const header = new Uint8Array(4);
  new DataView(header.buffer).setUint32(0, 4_000_000_000);
  assert.throws(
    () => reader.push(header),
    (e) => e instanceof FrameError && /4000000000 bytes/.test(e.message),
  );
  assert.throws(() => encodeFrame("x".repeat(200), 100), FrameError);
});

Deno.test("a frame that does not hold JSON is a FrameError of its own: the frames after it are read", () => {
  const body = new TextEncoder().encode("{nope");
  const frame = new Uint8Array(4 + body.length);
  new DataView(frame.buffer).setUint32(0, body.length);
  frame.set(body, 4);
  const binary = new Uint8Array([0, 0, 0, 2, 0xff, 0xfe]);
  const bodies = new FrameReader().push(new Uint8Array([...frame, ...binary, ...encodeFrame(7)]));
  assert.equal(bodies.length, 3);
  assert.throws(() => decodeJson(bodies[0]!), FrameError);
  assert.throws(() => decodeJson(bodies[1]!), FrameError, "not UTF-8");
  assert.equal(decodeJson(bodies[2]!), 7);
});

Deno.test("FrameReader: a 16 MiB frame arriving in 64 KiB chunks is one body, complete at its last chunk", () => {
  const frame = encodeFrame("x".repeat(16 * 1024 * 1024 - 2));
  const reader = new FrameReader();
  let bodies: Uint8Array[] = [];
  for (let at = 0; at < frame.length; at += 65536) {
    bodies = reader.push(frame.subarray(at, at + 65536));
    assert.equal(bodies.length === 0, at + 65536 < frame.length);
  }
  assert.equal(bodies[0]!.length, 16 * 1024 * 1024);
  assert.equal(reader.hasPartial, false);
});

Deno.test("property: any chunking of any frames yields the same values", () => {
  fc.assert(
    fc.property(
      fc.array(fc.jsonValue(), { maxLength: 10 }),
      fc.array(fc.nat({ max: 300 }), { maxLength: 10 }),
      (values, cuts) => {
        const frames = values.map((v) => encodeFrame(v));
        const stream = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
        let at = 0;
        for (const frame of frames) {
          stream.set(frame, at);
          at += frame.length;
        }
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const reader = new FrameReader();
        const seen: unknown[] = [];
        let from = 0;
        for (const point of [...points, stream.length]) {
          seen.push(...reader.push(stream.subarray(from, point)).map(decodeJson));
          from = point;
        }
        assert.deepEqual(seen, values.map((v) => JSON.parse(JSON.stringify(v))));
      },
    ),
    { numRuns: 300 },
  );
});
