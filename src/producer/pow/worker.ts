/**
 * A mining worker thread (`worker_threads`): scans its nonce range in batches with the SIMD
 * kernel until it finds a nonce, its job's generation changes (abort or new job), or the range
 * ends. Between batches it reads the shared generation word, so an abort takes effect within one
 * batch (about `BATCH_TARGET_MS`). With `delayMs` set it pauses after every 4-nonce step, waking
 * at once on an abort (the node config's `mining_delay_ms`).
 */
import { parentPort, workerData } from "node:worker_threads";
import { meetsDifficulty, powHash } from "../../consensus/hashing.ts";
import { PowSearcher } from "./kernel.ts";
import type { JobMessage, WorkerData, WorkerReply } from "./protocol.ts";
import { BATCH_TARGET_MS, CTRL_GENERATION } from "./protocol.ts";

const data = workerData as WorkerData;
const ctrl = new Int32Array(data.ctrl);
const hashes = new BigInt64Array(data.hashes);
const searcher = new PowSearcher(data.module);
let batch = 4096;

const now = () => performance.timeOrigin + performance.now();
const post = (m: WorkerReply) => parentPort!.postMessage(m);

function run(job: JobMessage): void {
  const seal = Uint8Array.from(job.seal);
  searcher.setTemplate(seal);
  let pos = job.start;
  let lastBatch = { start: now(), end: now(), count: 0 };
  while (Atomics.load(ctrl, CTRL_GENERATION) === job.generation) {
    if (pos >= job.end) return post({ type: "exhausted", generation: job.generation, index: data.index });
    const count = job.delayMs > 0 ? 4 : Math.min(batch, job.end - pos);
    const t0 = now();
    const found = searcher.scan(pos, count, job.difficulty);
    const t1 = now();
    const tried = found >= 0 ? found - pos + 1 : count;
    Atomics.add(hashes, data.index, BigInt(tried));
    lastBatch = { start: t0, end: t1, count: tried };
    if (found >= 0 && meetsDifficulty(powHash(seal, found), job.difficulty)) {
      return post({ type: "found", generation: job.generation, index: data.index, nonce: found });
    }
    pos = found >= 0 ? found + 1 + ((4 - ((found + 1) % 4)) % 4) : pos + count;
    if (job.delayMs > 0) {
      Atomics.wait(ctrl, CTRL_GENERATION, job.generation, job.delayMs);
    } else if (t1 - t0 > 0) {
      // Keep a batch near BATCH_TARGET_MS whatever this machine's speed, in steps of 4 nonces.
      const ideal = (count / (t1 - t0)) * BATCH_TARGET_MS;
      batch = Math.max(256, Math.min(1 << 20, Math.round((batch + ideal) / 2 / 4) * 4));
    }
  }
  post({ type: "stopped", generation: job.generation, index: data.index, stoppedAt: now(), lastBatch });
}

parentPort!.on("message", (m: JobMessage) => {
  try {
    run(m);
  } catch (e) {
    post({ type: "error", generation: m.generation, index: data.index, message: (e as Error).message });
  }
});
post({ type: "ready", generation: 0, index: data.index });
