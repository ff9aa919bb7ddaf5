// boundedLru: the same bound and eviction order as lru-cache's own `max`, storage allocated as
// entries arrive (not for the bound at construction).
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { LRUCache } from "lru-cache";
import { boundedLru } from "../../../src/util/lru.ts";

type Op = { kind: "set" | "get" | "has" | "delete"; key: number };

test("boundedLru: any sequence of set/get/has/delete leaves the same entries, in the same order, as LRUCache({ max }), with the same evictions", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 8 }),
      fc.array(fc.record({ kind: fc.constantFrom<Op["kind"]>("set", "get", "has", "delete"), key: fc.integer({ min: 0, max: 12 }) }), { maxLength: 200 }),
      (max, ops) => {
        const evictedA: number[] = [];
        const evictedB: number[] = [];
        const a = new LRUCache<number, string>({ max, dispose: (_v, k, reason) => reason === "evict" && evictedA.push(k) });
        const b = boundedLru<number, string>(max, { dispose: (_v, k, reason) => reason === "evict" && evictedB.push(k) });
        ops.forEach((op, i) => {
          if (op.kind === "set") {
            a.set(op.key, `v${i}`);
            b.set(op.key, `v${i}`);
          } else assert.deepEqual(b[op.kind](op.key), a[op.kind](op.key));
          assert.ok(b.size <= max);
        });
        assert.deepEqual([...b.entries()], [...a.entries()]);
        assert.deepEqual(evictedB, evictedA);
      },
    ),
  );
});

test("boundedLru: a bound of 100,000 allocates nothing for it up front (an empty cache costs well under 1 MB)", () => {
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  const caches = Array.from({ length: 20 }, () => boundedLru<string, true>(100_000));
  const grown = process.memoryUsage().heapUsed - before;
  assert.ok(grown < 10 * 2 ** 20, `20 empty caches took ${grown} bytes`); // 20 LRUCache({ max: 100_000 }) take ~28 MB of heap (and their typed arrays more)
  caches[0]!.set("a", true);
  assert.equal(caches[0]!.get("a"), true);
});

test("boundedLru: the bound must be a positive integer", () => {
  for (const bad of [0, -1, 1.5, Number.NaN, Infinity]) assert.throws(() => boundedLru(bad), RangeError);
});
