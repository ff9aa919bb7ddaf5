// The one token bucket (global and per-type P2P rate limits): a table of (limits, calls) -> answers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { TokenBucket } from "../../../src/util/tokenBucket.ts";

/** Each row: limits, then takes at the given ms times, and the expected answers. */
const table: { name: string; perSec: number; burst: number; at: number[]; want: boolean[] }[] = [
  { name: "starts full: burst events at once, then refused", perSec: 1, burst: 3, at: [0, 0, 0, 0], want: [true, true, true, false] },
  { name: "refills perSec tokens per second", perSec: 10, burst: 1, at: [0, 0, 99, 100, 150, 200], want: [true, false, false, true, false, true] },
  { name: "refill never exceeds burst", perSec: 1000, burst: 2, at: [0, 0, 10_000, 10_000, 10_000], want: [true, true, true, true, false] },
  { name: "fractional tokens accumulate", perSec: 3, burst: 1, at: [0, 200, 333, 334], want: [true, false, false, true] },
  { name: "perSec 0 never refills", perSec: 0, burst: 2, at: [0, 1_000, 1_000_000], want: [true, true, false] },
  { name: "a time going backwards adds nothing", perSec: 10, burst: 1, at: [1_000, 500, 1_050, 1_100], want: [true, false, false, true] },
];

for (const row of table) {
  test(`token bucket: ${row.name}`, () => {
    const b = new TokenBucket({ perSec: row.perSec, burst: row.burst }, row.at[0]!);
    assert.deepEqual(
      row.at.map((t) => b.take(t)),
      row.want,
    );
  });
}

test("token bucket: refused events do not use tokens", () => {
  const b = new TokenBucket({ perSec: 10, burst: 1 }, 0);
  assert.equal(b.take(0), true);
  for (let i = 0; i < 50; i++) assert.equal(b.take(50), false);
  assert.equal(b.take(100), true);
});

test("token bucket: invalid limits throw RangeError", () => {
  assert.throws(() => new TokenBucket({ perSec: -1, burst: 1 }, 0), RangeError);
  assert.throws(() => new TokenBucket({ perSec: 1, burst: 0 }, 0), RangeError);
  assert.throws(() => new TokenBucket({ perSec: Number.NaN, burst: 1 }, 0), RangeError);
  assert.throws(() => new TokenBucket({ perSec: 1, burst: Number.POSITIVE_INFINITY }, 0), RangeError);
});
