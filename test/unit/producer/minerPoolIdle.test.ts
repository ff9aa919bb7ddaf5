// The worker pool gives its workers back after idleStopMs without a job, and starts them again for
// the next one; without the option they stay; stop() during their boot leaves none behind.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { MinerPool } from "../../../src/producer/pow/minerPool.ts";
import { settledWithin } from "../../helpers/net.ts";

test("idle workers are terminated after idleStopMs and restarted by the next job; hashes keep counting", async () => {
  const pool = new MinerPool({ workers: 1, idleStopMs: 300 });
  try {
    assert.equal(pool.running, 0, "no workers before the first job");
    const first = await pool.mine(randomBytes(32), 2);
    assert.equal(first.status, "found");
    assert.equal(pool.running, 1);
    const hashes = pool.totalHashes;
    await sleep(100);
    assert.equal(pool.running, 1, "kept within idleStopMs");
    for (let i = 0; i < 50 && pool.running > 0; i++) await sleep(50);
    assert.equal(pool.running, 0, "terminated after idleStopMs");
    const second = await pool.mine(randomBytes(32), 2);
    assert.equal(second.status, "found");
    assert.equal(pool.running, 1, "started again");
    assert.ok(pool.totalHashes >= hashes + second.hashes, "the hash count survives the restart");
    // a job arriving right before the timer fires keeps the workers
    await sleep(250);
    const third = pool.mine(randomBytes(32), 2);
    await sleep(100);
    assert.equal((await third).status, "found");
    assert.equal(pool.running, 1);
  } finally {
    await pool.stop();
  }
});

test("without idleStopMs the workers stay", async () => {
  const pool = new MinerPool({ workers: 1 });
  try {
    await pool.mine(randomBytes(32), 1);
    await sleep(400);
    assert.equal(pool.running, 1);
  } finally {
    await pool.stop();
  }
});

test("stop() while the workers boot leaves none behind (a node closed during its first job's start)", async () => {
  const pool = new MinerPool({ workers: 2 });
  const booting = pool.start();
  await pool.stop();
  await booting.catch(() => undefined);
  await sleep(50);
  assert.equal(pool.running, 0, "no worker outlives stop()");
});

test("stop() while the workers boot: start() fails at once instead of waiting forever, and a later job boots again", async () => {
  const pool = new MinerPool({ workers: 2 });
  const booting = pool.start();
  booting.catch(() => undefined); // read below
  // The workers exist (the kernel compiled) but have not said they are ready: stop them now.
  while (pool.running === 0) await new Promise((r) => setImmediate(r));
  await pool.stop();
  const outcome = await settledWithin(booting.then(() => "started", (e: Error) => e.message), 10_000);
  assert.match(outcome, /before it was ready|stopped while its workers booted/);
  try {
    assert.equal((await pool.mine(randomBytes(32), 2)).status, "found", "a job after the failed boot boots the pool again");
  } finally {
    await pool.stop();
  }
});
