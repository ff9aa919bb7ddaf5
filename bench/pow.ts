/**
 * PoW hashing: tries per second of the SIMD kernel on one thread, of the worker pool with 1..N
 * workers (scaling), and of the reference JavaScript pow_hash (noble, the baseline), against the
 * machine's physical limit from `openssl speed -evp sha256` (SHA extensions) converted to two
 * compressions per try; and abort latency of busy workers. Medians over rounds.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import { powHash } from "../src/consensus/hashing.ts";
import { compileKernel } from "../src/producer/pow/sha256x4.ts";
import { PowSearcher } from "../src/producer/pow/kernel.ts";
import { MinerPool } from "../src/producer/pow/minerPool.ts";
import { fmt, median, percentile } from "./stats.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** openssl's sha256 rates: bytes/s per block size. Undefined when openssl is missing. */
function opensslRates(): Map<number, number> | undefined {
  const r = spawnSync("openssl", ["speed", "-seconds", "2", "-evp", "sha256"], { encoding: "utf8" });
  if (r.status !== 0) return undefined;
  const header = r.stdout.split("\n").find((l) => l.startsWith("type"));
  const row = r.stdout.split("\n").find((l) => l.startsWith("sha256"));
  if (!header || !row) return undefined;
  const sizes = [...header.matchAll(/(\d+) bytes/g)].map((m) => Number(m[1]));
  const rates = [...row.matchAll(/([\d.]+)k/g)].map((m) => Number(m[1]) * 1000);
  return new Map(sizes.map((s, i) => [s, rates[i]!]));
}

function jsTriesPerSecond(ms: number): number {
  const seal = randomBytes(32);
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) for (let i = 0; i < 1000; i++) powHash(seal, n++);
  return n / ((performance.now() - t0) / 1000);
}

async function poolRate(workers: number, rounds: number): Promise<number> {
  const pool = new MinerPool({ workers });
  await pool.start();
  const rates: number[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      const job = pool.mine(randomBytes(32), 64);
      await sleep(300); // warm-up: batch sizing and tier-up
      const h0 = pool.totalHashes;
      const t0 = performance.now();
      await sleep(1500);
      rates.push((pool.totalHashes - h0) / ((performance.now() - t0) / 1000));
      pool.abort();
      await job;
    }
  } finally {
    await pool.stop();
  }
  return median(rates);
}

export async function benchPow(rounds = 3): Promise<void> {
  console.log("\n## PoW hashing (tries per second; one try = pow_hash of 40 bytes = 2 SHA-256 compressions)");
  const ossl = opensslRates();
  const jsRate = median(Array.from({ length: rounds }, () => jsTriesPerSecond(1000)));
  const searcher = new PowSearcher(await compileKernel());
  const kernelRates: number[] = [];
  for (let r = 0; r < rounds + 1; r++) {
    searcher.setTemplate(randomBytes(32));
    const n = 1 << 22;
    const t0 = performance.now();
    searcher.scan(0, n, 64);
    if (r > 0) kernelRates.push(n / ((performance.now() - t0) / 1000)); // round 0 warms up
  }
  const kernelRate = median(kernelRates);
  const maxWorkers = Math.max(2, availableParallelism());
  const poolRates = new Map<number, number>();
  for (let w = 1; w <= maxWorkers; w++) poolRates.set(w, await poolRate(w, rounds));

  console.log(`reference JS pow_hash (@noble/hashes), 1 thread:   ${fmt(jsRate / 1e6, 3)} M tries/s (baseline)`);
  console.log(`SIMD kernel, main thread:                         ${fmt(kernelRate / 1e6, 3)} M tries/s (${fmt(kernelRate / jsRate, 1)}x baseline)`);
  for (const [w, rate] of poolRates) {
    const scaling = rate / (w * poolRates.get(1)!);
    console.log(`worker pool, ${w} worker(s):                        ${fmt(rate / 1e6, 3)} M tries/s, ${fmt(rate / w / 1e6, 3)} M per worker, scaling ${fmt(scaling * 100, 0)}% of linear`);
  }
  if (ossl) {
    const large = Math.max(...[...ossl.keys()]);
    const limit = ossl.get(large)! / 64 / 2; // compressions/s at large blocks, two per try
    const small = ossl.get(16)! / 16 / 2; // one compression per 16-byte hash (EVP call included), two per try
    const one = poolRates.get(1)!;
    console.log(`openssl speed -evp sha256: ${fmt(ossl.get(large)! / 1e6, 0)} MB/s at ${large} B = ${fmt(limit / 1e6, 2)} M tries/s limit; ${fmt(ossl.get(16)! / 1e6, 0)} MB/s at 16 B = ${fmt(small / 1e6, 2)} M tries/s`);
    console.log(`one worker vs the limit: ${fmt((one / limit) * 100, 1)}% (large blocks), ${fmt((one / small) * 100, 1)}% (16-byte calls); reference JS: ${fmt((jsRate / limit) * 100, 1)}% / ${fmt((jsRate / small) * 100, 1)}%`);
  } else {
    console.log("openssl not found: no ratio to the physical limit");
  }

  // Abort latency of busy workers: from abort() until every worker stopped.
  const pool = new MinerPool({ workers: maxWorkers });
  await pool.start();
  const lat: number[] = [];
  try {
    for (let i = 0; i < 20; i++) {
      const job = pool.mine(randomBytes(32), 64);
      await sleep(50 + Math.random() * 50);
      pool.abort();
      const r = await job;
      if (r.status === "aborted") lat.push(r.abortLatencyMs);
    }
  } finally {
    await pool.stop();
  }
  console.log(`abort latency, ${maxWorkers} busy workers, 20 aborts: median ${fmt(median(lat))} ms, p95 ${fmt(percentile(lat, 95))} ms, max ${fmt(Math.max(...lat))} ms (goal < 50 ms)`);
}
