// A node started from a checkpoint produces (docs/protocol.md §9.7): two in-process VisionNodes
// over real WebSockets and LevelDB on a fast chain (100 ms blocks), each holding one validator key
// of four. A holds a chain past a finalized checkpoint; B starts from that checkpoint on an empty
// data dir, syncs, becomes eligible, and both produce blocks past an epoch boundary, B's
// schedules (pools, anchors, finality floors read from the window below its checkpoint) agreeing
// with A's at every height.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { VisionNode } from "../../../src/node/node.ts";
import { writeKeyFile } from "../../../src/node/keyfile.ts";
import { attestOn, blockFor, makeKeys, makeSpec, openTestChain, silentLog, tempDir } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";

const keys = makeKeys(4);
const spec = makeSpec(keys, {
  params: { block_time_ms: 100, claim_timeout_ms: 200, mining_tick_ms: 20, jitter_min_ms: 5, jitter_max_ms: 20, max_future_drift_ms: 1000, eligible_streak_required: 1 },
});
const L = spec.params.epoch_length;

test("a node started from a checkpoint becomes eligible and produces past an epoch boundary with its peer", async () => {
  const dirs = [tempDir(), tempDir()];
  const nodes: VisionNode[] = [];
  try {
    const c = await openTestChain(spec, dirs[0]!.dir);
    for (let i = 0; i < 5 * L + 5; i++) {
      const parent = c.chain.head;
      const attestations = parent.height === 0 ? [] : await Promise.all(keys.map((k) => attestOn(c.chain, k, parent.height, parent.hash)));
      assert.equal((await c.chain.importBlock(await blockFor(c.chain, parent, keys, 0, { attestations }))).status, "imported");
    }
    const cp = c.chain.finalizedCheckpoint;
    await c.close();
    const opts = (i: number, extra: Record<string, unknown>) => {
      const keyFile = join(dirs[i]!.dir, "node.key");
      writeKeyFile(keyFile, keys[i]!.secretKey, keys[i]!.blsSecretKey);
      return { dataDir: dirs[i]!.dir, keyFile, spec, p2p: { host: "127.0.0.1", port: 0, peers: [] as string[] }, apiHost: "127.0.0.1", apiPort: 0, produce: true, mine: false, ...extra };
    };
    // A alone is not eligible (no live peer): its chain waits for B.
    const a = await VisionNode.init(opts(0, {}), silentLog);
    nodes.push(a);
    const b = await VisionNode.init({ ...opts(1, { checkpoint: cp, checkpointTimeoutMs: 20_000 }), p2p: { host: "127.0.0.1", port: 0, peers: [`ws://127.0.0.1:${a.p2p.port}`] } }, silentLog);
    nodes.push(b);
    assert.deepEqual(b.chain.base?.checkpoint, cp);
    const start = Math.max(a.chain.head.height, cp.height);
    await waitFor(() => b.snapshot.eligible || undefined, 20_000, "b eligible");
    await waitFor(() => b.chain.head.height >= start + L + 2 || undefined, 60_000, "an epoch boundary past the checkpoint start");
    const top = b.chain.head.height - 2;
    let byB = 0;
    for (let h = start + 1; h <= top; h++) {
      const mb = await b.chain.getCanonicalMeta(h);
      const ma = await waitFor(() => a.chain.getCanonicalMeta(h), 5000, `a at ${h}`);
      assert.equal(mb?.hash, ma.hash, `a and b agree at ${h}`);
      if (mb!.producer === keys[1]!.ebid) byB++;
    }
    assert.ok(byB > 0, "b produced blocks after its checkpoint start");
  } finally {
    for (const n of nodes.reverse()) await n.close();
    for (const d of dirs) d.cleanup();
  }
});
