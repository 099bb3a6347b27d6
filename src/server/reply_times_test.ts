import assert from "node:assert/strict";
import { replayReplyTimes, ReplyTimeBatch } from "./reply_times.ts";

/** A batch on a clock the test sets, and every pair it sent, replayed. */
function batchOf(pairs: number) {
  let clock = 0;
  const sent: Float64Array<ArrayBuffer>[] = [];
  const batch = new ReplyTimeBatch((times) => sent.push(times), { now: () => clock, pairs });
  const replayed = () => {
    const seen: [number, number][] = [];
    for (const times of sent) replayReplyTimes(times, (ms, n) => seen.push([ms, n]));
    return seen;
  };
  return { batch, sent, replayed, setClock: (ms: number) => (clock = ms) };
}

Deno.test("ReplyTimeBatch sends a full batch at once and the rest only when flushed", () => {
  const { batch, sent, replayed, setClock } = batchOf(2);
  setClock(100);
  const first = batch.now();
  setClock(103);
  batch.replied(first, 2);
  assert.equal(sent.length, 0, "one pair of two: kept");
  setClock(110);
  batch.replied(first, 1);
  assert.equal(sent.length, 1, "full: sent");
  batch.replied(batch.now() - 4, 5);
  batch.flush();
  batch.flush(); // nothing new: nothing sent
  assert.equal(sent.length, 2);
  assert.deepEqual(replayed(), [[3, 2], [10, 1], [4, 5]]);
});

Deno.test("ReplyTimeBatch never reuses a buffer it sent (the Worker transfers it)", () => {
  const { batch, sent } = batchOf(1);
  batch.replied(batch.now(), 1);
  const buffer = sent[0]!.buffer;
  structuredClone(buffer, { transfer: [buffer] }); // detaches it, as postMessage does
  batch.replied(batch.now(), 7);
  batch.replied(batch.now(), 8);
  assert.equal(sent[0]!.length, 0, "the first batch is gone with its buffer");
  assert.deepEqual(sent.slice(1).map((times) => [...times]), [[0, 7], [0, 8]]);
});

Deno.test("ReplyTimeBatch refuses a batch that holds no pair", () => {
  assert.throws(() => new ReplyTimeBatch(() => {}, { pairs: 0 }), RangeError);
});
