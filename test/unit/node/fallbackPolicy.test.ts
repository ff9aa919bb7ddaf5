// Who mines the Proof-of-Sync fallback, on real nodes (docs/protocol.md §6): two eligible nodes that
// are not validators start no fallback job while a genesis validator is active (its slots pass
// unfilled), and mine it when the chain has no validator (the bootstrap). Real P2P on 127.0.0.1,
// real LevelDB, real PoW workers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { VisionNode } from "../../../src/node/node.ts";
import type { ChainSpec } from "../../../src/chain/spec.ts";
import { makeKeys, makeSpec, silentLog, tempDir } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Two producing, mining nodes with fresh keys (not validators), connected; `run` sees them eligible. */
async function pair(spec: ChainSpec, run: (nodes: VisionNode[]) => Promise<void>): Promise<void> {
  const dirs = [tempDir(), tempDir()];
  const nodes: VisionNode[] = [];
  try {
    for (const d of dirs) {
      const peers = nodes.map((n) => `ws://127.0.0.1:${n.p2p.port}`);
      nodes.push(await VisionNode.init({ dataDir: d.dir, spec, p2p: { host: "127.0.0.1", port: 0, peers }, apiHost: "127.0.0.1", apiPort: 0, produce: true, mine: true, miningWorkers: 1 }, silentLog));
    }
    await waitFor(() => nodes.every((n) => n.snapshot.eligible), 15_000, "both nodes eligible");
    await run(nodes);
  } finally {
    for (const n of nodes) await n.close();
    for (const d of dirs) d.cleanup();
  }
}

test("eligible nodes that are not validators mine no fallback while a validator is active; with no validator they do (bootstrap)", async () => {
  const params = { block_time_ms: 1000, fallback_difficulty: 1, claim_timeout_ms: 300 };
  // The only validator never runs: every slot of height 1 passes unfilled.
  await pair(makeSpec(makeKeys(1, 90), { params }), async (nodes) => {
    await sleep(3000); // past T(1) and the claim timeout several times over
    for (const n of nodes) {
      assert.deepEqual(n.miner!.recentJobs(), [], "no fallback job");
      assert.equal(n.chain.head.height, 0);
    }
  });
  await pair(makeSpec([], { params }), async (nodes) => {
    await waitFor(() => nodes.some((n) => n.chain.head.height >= 1), 10_000, "a bootstrap fallback block");
    assert.ok(nodes.some((n) => n.miner!.recentJobs().some((j) => j.kind === "fallback" && j.outcome === "mined")));
  });
});
