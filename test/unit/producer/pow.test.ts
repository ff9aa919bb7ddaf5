// The proof-of-work kernel against the reference pow_hash, and the worker pool's find/abort.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { Worker } from "node:worker_threads";
import fc from "fast-check";
import { compileKernel } from "../../../src/producer/pow/sha256x4.ts";
import { PowSearcher, difficultyMask } from "../../../src/producer/pow/kernel.ts";
import { MinerPool } from "../../../src/producer/pow/minerPool.ts";
import { settledWithin } from "../../helpers/net.ts";
import { meetsDifficulty, powHash } from "../../../src/consensus/hashing.ts";

function firstByReference(seal: Uint8Array, start: number, count: number, difficulty: number): number {
  for (let n = start; n < start + count; n++) if (meetsDifficulty(powHash(seal, n), difficulty)) return n;
  return -1;
}

test("difficultyMask keeps the top 4 bits per hex digit", () => {
  const table: [number, number][] = [[0, 0], [1, 0xf0000000], [2, 0xff000000], [4, 0xffff0000], [7, 0xfffffff0], [8, 0xffffffff], [12, 0xffffffff]];
  for (const [d, mask] of table) assert.equal(difficultyMask(d), mask, `difficulty ${d}`);
});

test("the SIMD kernel finds exactly the first nonce the reference pow_hash accepts, across 2^32 boundaries", async () => {
  const searcher = new PowSearcher(await compileKernel());
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 0, max: 2 ** 21 - 2 }),
      fc.boolean(),
      async (seal, difficulty, high, nearBoundary) => {
        // Ranges that straddle a change of the nonce's high word exercise the per-template precompute.
        const start = high * 2 ** 32 + (nearBoundary ? 2 ** 32 - 64 : 4 * 1000);
        searcher.setTemplate(seal);
        assert.equal(searcher.scan(start, 4096, difficulty), firstByReference(seal, start, 4096, difficulty));
      },
    ),
    { numRuns: 40 },
  );
});

test("the kernel refuses unaligned or out-of-range nonce ranges", async () => {
  const searcher = new PowSearcher(await compileKernel());
  searcher.setTemplate(randomBytes(32));
  assert.throws(() => searcher.scan(3, 8, 1), RangeError);
  assert.throws(() => searcher.scan(0, 6, 1), RangeError);
  assert.throws(() => searcher.scan(2 ** 53 - 4, 8, 1), RangeError);
});

test("the worker pool finds a nonce that meets the difficulty, and aborts promptly", async () => {
  const pool = new MinerPool({ workers: 2 });
  try {
    const seal = randomBytes(32);
    const found = await pool.mine(seal, 4);
    assert.equal(found.status, "found");
    if (found.status === "found") assert.ok(meetsDifficulty(powHash(seal, found.nonce), 4));

    // Difficulty 12 never finishes here: the abort ends it, within a generous bound (bench/ measures it).
    const running = pool.mine(randomBytes(32), 12);
    await new Promise((r) => setTimeout(r, 200));
    pool.abort();
    const aborted = await running;
    assert.equal(aborted.status, "aborted");
    if (aborted.status === "aborted") {
      assert.ok(aborted.abortLatencyMs < 250, `abort took ${aborted.abortLatencyMs} ms`);
      assert.ok(aborted.hashes > 0);
    }

    // A new job aborts the previous one; a delayed job wakes at once on abort.
    const first = pool.mine(randomBytes(32), 12, 1000);
    const second = pool.mine(randomBytes(32), 0);
    assert.equal((await first).status, "aborted");
    assert.equal((await second).status, "found");
    // An abort right after mine() is called, before the job reached the workers, cancels it too.
    const early = pool.mine(randomBytes(32), 12);
    pool.abort();
    assert.equal((await early).status, "aborted");
    const slow = pool.mine(randomBytes(32), 12, 5000);
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    pool.abort();
    assert.equal((await slow).status, "aborted");
    assert.ok(performance.now() - t0 < 1000, "a delayed worker wakes on abort, not after its pause");
  } finally {
    await pool.stop();
  }
});

test("a mining worker that dies fails its job, and the next job boots a fresh pool", async () => {
  const pool = new MinerPool({ workers: 2 });
  try {
    const job = pool.mine(randomBytes(32), 12); // never finishes here
    job.catch(() => undefined); // read below
    const deadline = Date.now() + 10_000;
    while (pool.totalHashes === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(pool.running, 2);
    // A worker crash (an out-of-memory abort, say), from outside: its job could never settle.
    await (pool as unknown as { workers: Worker[] }).workers[0]!.terminate();
    const outcome = await settledWithin(job.then(() => "settled", (e: Error) => e.message), 10_000);
    assert.match(outcome, /miner worker exited/);
    const next = await pool.mine(randomBytes(32), 2);
    assert.equal(next.status, "found", "the next job ran on a fresh pool");
    assert.equal(pool.running, 2);
  } finally {
    await pool.stop();
  }
});

test("an abort that crosses a worker's find still ends the job, as aborted (the find is dropped)", async () => {
  for (const workers of [1, 2]) {
    const pool = new MinerPool({ workers });
    try {
      await pool.start();
      const before = pool.totalHashes;
      const job = pool.mine(randomBytes(32), 0); // difficulty 0: every worker finds on its first nonce
      // Microtasks only, so no worker reply is read yet: the job is posted to the workers.
      for (let i = 0; i < 20; i++) await null;
      // Spin (without yielding) until every worker has counted its hashes, then give its "found" a
      // moment to be posted: the abort below reaches the pool before any of those replies.
      const deadline = performance.now() + 5000;
      while (pool.totalHashes - before < workers && performance.now() < deadline);
      assert.ok(pool.totalHashes - before >= workers, "every worker ran the job before the abort");
      const posted = performance.now() + 20;
      while (performance.now() < posted);
      pool.abort();
      const result = await settledWithin(job, 5000);
      assert.equal(result === "hung" ? result : result.status, "aborted", `${workers} worker(s)`);
    } finally {
      await pool.stop();
    }
  }
});
