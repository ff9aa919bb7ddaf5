// The injectable clock and randomness: VirtualClock's event order (due time, then scheduling
// order), nested scheduling, clearing, intervals and determinism; sleep on both clocks; the seeded
// Rng's ranges and reproducibility.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { DueHeap, VirtualClock, seededRng, sleep, settle, systemClock, systemRng, type Timer } from "../../../src/util/clock.ts";

test("VirtualClock: timers fire by due time, equal times in scheduling order, and time only moves when told", () => {
  const c = new VirtualClock(1_000);
  const log: string[] = [];
  c.setTimeout(() => log.push(`c@${c.now()}`), 30);
  c.setTimeout(() => log.push(`a@${c.now()}`), 10);
  c.setTimeout(() => log.push(`b@${c.now()}`), 10);
  c.setTimeout(() => log.push(`z@${c.now()}`), 0);
  assert.equal(c.now(), 1_000);
  assert.deepEqual(log, []);
  c.advance(9);
  assert.deepEqual(log, ["z@1000"]);
  assert.equal(c.now(), 1_009);
  c.advance(100);
  assert.deepEqual(log, ["z@1000", "a@1010", "b@1010", "c@1030"]);
  assert.equal(c.now(), 1_109);
  assert.equal(c.pending, 0);
});

test("VirtualClock: a timer scheduled while another fires runs in the same advance when due in it, after earlier-scheduled ones at its time", () => {
  const c = new VirtualClock();
  const log: string[] = [];
  c.setTimeout(() => {
    log.push(`outer@${c.now()}`);
    c.setTimeout(() => log.push(`inner0@${c.now()}`), 0);
    c.setTimeout(() => log.push(`inner5@${c.now()}`), 5);
    c.setTimeout(() => log.push(`late@${c.now()}`), 50);
  }, 10);
  c.setTimeout(() => log.push(`peer@${c.now()}`), 10);
  c.setTimeout(() => log.push(`fifteen@${c.now()}`), 15);
  c.advance(20);
  assert.deepEqual(log, ["outer@10", "peer@10", "inner0@10", "fifteen@15", "inner5@15"]);
  assert.equal(c.nextAt(), 60);
});

test("VirtualClock: cleared timers and intervals never fire; clearing twice or undefined is harmless", () => {
  const c = new VirtualClock();
  let fired = 0;
  const t = c.setTimeout(() => fired++, 5);
  const i = c.setInterval(() => fired++, 5);
  c.clearTimeout(t);
  c.clearTimeout(t);
  c.clearInterval(i);
  c.clearTimeout(undefined);
  c.clearInterval(undefined);
  c.advance(100);
  assert.equal(fired, 0);
  assert.equal(c.pending, 0);
  // a timer cleared by an earlier one due at the same ms does not fire
  let second: ReturnType<typeof c.setTimeout> | undefined;
  c.setTimeout(() => c.clearTimeout(second), 1);
  second = c.setTimeout(() => fired++, 1);
  c.advance(1);
  assert.equal(fired, 0);
});

test("VirtualClock: an interval repeats every period until cleared, also from its own callback", () => {
  const c = new VirtualClock();
  const at: number[] = [];
  const i = c.setInterval(() => {
    at.push(c.now());
    if (at.length === 4) c.clearInterval(i);
  }, 250);
  c.advance(600);
  assert.deepEqual(at, [250, 500]);
  c.advance(10_000);
  assert.deepEqual(at, [250, 500, 750, 1000]);
  assert.equal(c.pending, 0);
  // Node's minimum: a 0 ms interval is 1 ms, so an advance of 0 does not loop forever
  let n = 0;
  const z = c.setInterval(() => n++, 0);
  c.advance(0);
  c.advance(3);
  c.clearInterval(z);
  assert.equal(n, 3);
});

test("VirtualClock: next() fires one timer and jumps to it; runUntil stops on a predicate or an empty queue", () => {
  const c = new VirtualClock();
  assert.equal(c.next(), false);
  assert.equal(c.now(), 0);
  let count = 0;
  c.setInterval(() => count++, 1_000);
  assert.equal(c.next(), true);
  assert.equal(c.now(), 1_000);
  assert.equal(c.runUntil(() => count === 5), true);
  assert.equal(c.now(), 5_000);
  assert.equal(c.runUntil(2_500), true);
  assert.equal(c.now(), 7_500);
  assert.equal(count, 7);
  assert.throws(() => c.runUntil(() => false, 10), /still false after 10/);
  const d = new VirtualClock();
  d.setTimeout(() => undefined, 5);
  assert.equal(d.runUntil(() => false), false);
  assert.equal(d.now(), 5);
  assert.throws(() => d.advance(-1), RangeError);
});

test("VirtualClock: any mix of timers, clears and advances fires the live timers by (due time, scheduling order), each once", () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant("set" as const), ms: fc.integer({ min: 0, max: 50 }) }),
    fc.record({ kind: fc.constant("clear" as const), which: fc.nat() }),
    fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 30 }) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
      const c = new VirtualClock();
      const fired: number[] = [];
      const model: { id: number; at: number; cleared: boolean; fired: boolean }[] = [];
      const timers: Timer[] = [];
      const expected: number[] = [];
      const fireModel = (until: number) => {
        const due = model.filter((m) => !m.cleared && !m.fired && m.at <= until).sort((a, b) => a.at - b.at || a.id - b.id);
        for (const m of due) (m.fired = true), expected.push(m.id);
      };
      for (const o of ops) {
        if (o.kind === "set") {
          const id = model.length;
          model.push({ id, at: c.now() + o.ms, cleared: false, fired: false });
          timers.push(c.setTimeout(() => fired.push(id), o.ms));
        } else if (o.kind === "clear" && timers.length > 0) {
          const i = o.which % timers.length;
          c.clearTimeout(timers[i]);
          if (!model[i]!.fired) model[i]!.cleared = true;
        } else if (o.kind === "advance") {
          fireModel(c.now() + o.ms);
          c.advance(o.ms);
        }
      }
      assert.equal(c.pending, model.filter((m) => !m.cleared && !m.fired).length);
      fireModel(Infinity);
      c.runUntil(() => false);
      assert.deepEqual(fired, expected);
      assert.equal(c.pending, 0);
    }),
    { numRuns: 300 },
  );
});

test("VirtualClock: the same schedule gives the same event trace (determinism)", () => {
  const trace = (seed: number): string[] => {
    const c = new VirtualClock(0);
    const rng = seededRng(seed);
    const out: string[] = [];
    for (let k = 0; k < 20; k++) {
      const id = k;
      c.setTimeout(() => {
        out.push(`${id}@${c.now()}`);
        if (rng.next() < 0.5) c.setTimeout(() => out.push(`${id}+@${c.now()}`), rng.int(40));
      }, rng.int(100));
    }
    c.runUntil(() => false);
    return out;
  };
  assert.deepEqual(trace(7), trace(7));
  assert.notDeepEqual(trace(7), trace(8));
});

test("sleep: resolves at the virtual ms with no real wait, and rejects with an AbortError when aborted", async () => {
  const c = new VirtualClock();
  let done = false;
  const p = sleep(c, 500).then(() => (done = true));
  c.advance(499);
  await settle();
  assert.equal(done, false);
  c.advance(1);
  await p;
  assert.equal(c.now(), 500);
  const ac = new AbortController();
  const q = sleep(c, 1_000, ac.signal);
  ac.abort();
  await assert.rejects(q, { name: "AbortError" });
  assert.equal(c.pending, 0);
  await assert.rejects(sleep(c, 1, ac.signal), { name: "AbortError" });
  // the system clock: a real short wait
  const t0 = Date.now();
  await sleep(systemClock, 5);
  assert.ok(Date.now() - t0 >= 4);
});

test("seededRng: numbers in range, one seed one sequence; systemRng in range; bad bounds refused", () => {
  const a = seededRng(42);
  const b = seededRng(42);
  const xs = Array.from({ length: 200 }, () => a.next());
  assert.deepEqual(xs, Array.from({ length: 200 }, () => b.next()));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  assert.ok(new Set(xs).size > 190);
  const ints = Array.from({ length: 600 }, () => a.int(6));
  assert.ok(ints.every((i) => Number.isInteger(i) && i >= 0 && i < 6));
  assert.equal(new Set(ints).size, 6);
  const one = seededRng(1);
  const two = seededRng(2);
  assert.notDeepEqual(
    Array.from({ length: 10 }, () => one.next()),
    Array.from({ length: 10 }, () => two.next()),
  );
  for (let k = 0; k < 100; k++) {
    const x = systemRng.next();
    assert.ok(x >= 0 && x < 1);
    const i = systemRng.int(3);
    assert.ok(i >= 0 && i < 3);
  }
  for (const rng of [a, systemRng]) for (const bad of [0, -1, 1.5, Infinity]) assert.throws(() => rng.int(bad), RangeError);
});

test("DueHeap: any mix of pushes and pops gives each pop the earliest event by (at, seq)", () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 20 }), fc.constant(-1)), { maxLength: 200 }), (ops) => {
      const heap = new DueHeap<{ at: number; seq: number }>();
      const model: { at: number; seq: number }[] = [];
      let seq = 0;
      for (const op of ops) {
        if (op >= 0) {
          const e = { at: op, seq: seq++ };
          heap.push(e);
          model.push(e);
        } else {
          model.sort((a, b) => a.at - b.at || a.seq - b.seq);
          assert.equal(heap.pop(), model.shift());
        }
        assert.equal(heap.length, model.length);
      }
      model.sort((a, b) => a.at - b.at || a.seq - b.seq);
      for (const e of model) assert.equal(heap.pop(), e);
      assert.equal(heap.pop(), undefined);
    }),
  );
});
