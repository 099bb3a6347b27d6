import assert from "node:assert/strict";
import fc from "fast-check";
import { crc32 } from "./crc32.ts";
import {
  decodeFlushMarker,
  decodeRecord,
  encodeFlushMarker,
  encodeRecord,
  type JournalRecord,
  RECORD_BYTES,
  recordTime,
} from "./journal_record.ts";

function encoded(record: JournalRecord): Uint8Array {
  const bytes = new Uint8Array(RECORD_BYTES);
  encodeRecord(bytes, new DataView(bytes.buffer), 0, record, 3, 1_700_000_000_000);
  return bytes;
}

Deno.test("crc32() matches the standard check value", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
});

Deno.test("property: encodeRecord() and decodeRecord() round-trip", () => {
  fc.assert(
    fc.property(
      fc.constantFrom("classic" as const, "keyed" as const, "expire" as const),
      fc.stringMatching(/^[A-Za-z0-9._:@-]{1,64}$/),
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      fc.nat({ max: 0xffffffff }),
      (kind, name, seq, likes) => {
        assert.deepEqual(decodeRecord(encoded({ kind, name, seq, likes })), {
          kind,
          name,
          seq,
          likes,
        });
      },
    ),
  );
});

Deno.test("property: any single flipped bit makes decodeRecord() return null", () => {
  const bytes = encoded({ kind: "keyed", name: "LikesServer1-run", seq: 42, likes: 17 });
  fc.assert(
    fc.property(fc.nat({ max: RECORD_BYTES * 8 - 1 }), (bit) => {
      const copy = bytes.slice();
      copy[bit >> 3]! ^= 1 << (bit & 7);
      assert.equal(decodeRecord(copy), null);
    }),
    { numRuns: 768 },
  );
});

Deno.test("recordTime() reads when the record was written", () => {
  assert.equal(
    recordTime(encoded({ kind: "expire", name: "c", seq: 0, likes: 0 })),
    1_700_000_000_000,
  );
});

Deno.test("decodeRecord() rejects a zeroed record and a short buffer", () => {
  assert.equal(decodeRecord(new Uint8Array(RECORD_BYTES)), null);
  assert.throws(() => decodeRecord(new Uint8Array(10)), RangeError);
});

Deno.test("property: a flush marker round-trips, is no record, and any flipped bit voids it", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      fc.nat({ max: 0xffffffff }),
      fc.nat({ max: RECORD_BYTES * 8 - 1 }),
      (flush, records, bit) => {
        const bytes = new Uint8Array(RECORD_BYTES);
        encodeFlushMarker(bytes, new DataView(bytes.buffer), 0, { flush, records }, 0);
        assert.deepEqual(decodeFlushMarker(bytes), { flush, records });
        assert.equal(decodeRecord(bytes), null);
        bytes[bit >> 3]! ^= 1 << (bit & 7);
        assert.equal(decodeFlushMarker(bytes), null);
      },
    ),
  );
});
