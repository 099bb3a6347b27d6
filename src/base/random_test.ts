import assert from "node:assert/strict";
import { childSeed, randomBetween, randomInt, seededRandom } from "./random.ts";

Deno.test("seededRandom() repeats for one seed and differs across seeds", () => {
  const a = seededRandom(42), b = seededRandom(42), c = seededRandom(43);
  const seqA = Array.from({ length: 5 }, a);
  assert.deepEqual(seqA, Array.from({ length: 5 }, b));
  assert.notDeepEqual(seqA, Array.from({ length: 5 }, c));
  for (const x of seqA) assert.ok(x >= 0 && x < 1);
});

Deno.test("randomInt() covers both ends of its range and nothing outside", () => {
  const random = seededRandom(1);
  const seen = new Set<number>();
  for (let i = 0; i < 5000; i++) {
    const x = randomInt(random, 0, 42);
    assert.ok(Number.isInteger(x) && x >= 0 && x <= 42);
    seen.add(x);
  }
  assert.equal(seen.size, 43);
  const y = randomBetween(random, 1000, 5000);
  assert.ok(y >= 1000 && y <= 5000);
});

Deno.test("childSeed() gives distinct repeatable seeds per child", () => {
  const seeds = Array.from({ length: 100 }, (_, i) => childSeed(7, i));
  assert.equal(new Set(seeds).size, 100);
  assert.deepEqual(seeds, Array.from({ length: 100 }, (_, i) => childSeed(7, i)));
});
