// The miner's view of peers' heights on a `pow` chain (docs/protocol.md §6.3 fix 1, §8), with
// in-process nodes over real WebSockets, LevelDB and PoW workers: a peer that claims a height 1,000
// above the tip and never shows a block does not stop the miner, because only backed heights count.
import { test } from "node:test";
import assert from "node:assert/strict";
import { VisionNode } from "../../../src/node/node.ts";
import { makeSpec, silentLog, tempDir } from "../../helpers/fixtures.ts";
import { waitFor } from "../../helpers/net.ts";
import { runLiars } from "../../../src/drill/liars.ts";

const spec = makeSpec([], { consensus: "pow", genesis_timestamp: Date.now() - 60_000, params: { genesis_difficulty: 1, min_difficulty: 1, mining_tick_ms: 50 } });

test("a pow miner keeps mining while a peer claims tip + 1000", async () => {
  const dirs = [tempDir(), tempDir()];
  const base = { spec, apiHost: "127.0.0.1", apiPort: 0 };
  const a = await VisionNode.init({ ...base, dataDir: dirs[0]!.dir, p2p: { host: "127.0.0.1", port: 0 }, produce: true, mine: true, miningWorkers: 1 }, silentLog);
  const b = await VisionNode.init({ ...base, dataDir: dirs[1]!.dir, p2p: { host: "127.0.0.1", port: 0, peers: [`ws://127.0.0.1:${a.p2p.port}`] }, produce: false, mine: false }, silentLog);
  let liars: ReturnType<typeof runLiars> | undefined;
  try {
    await waitFor(() => a.chain.head.height >= 2, 20_000, "the miner under way with its honest peer");
    liars = runLiars({ url: `ws://127.0.0.1:${a.p2p.port}`, chainId: spec.chain_id, genesisHash: a.chain.genesis.hash, ebid: a.key.ebid, tipHeight: () => a.chain.head.height }, 1, { mixSilent: false });
    await waitFor(() => a.p2p.readyPeers().length === 2 && liars!.stats.statuses >= 2, 5000, "the liar connected and claiming");
    const from = a.chain.head.height;
    await new Promise((r) => setTimeout(r, 3000));
    const mined = a.chain.head.height - from;
    assert.ok(mined >= 3, `mined ${mined} blocks in 3 s with a liar connected (its claim: ${a.chain.head.height + 1000})`);
    assert.equal(b.chain.head.height >= from, true, "the honest peer follows");
  } finally {
    await liars?.stop();
    await b.close();
    await a.close();
    for (const d of dirs) d.cleanup();
  }
});
