// A claim's backing clock after a long sync, over real WebSockets and LevelDB (docs/protocol.md
// §6.1): claims are not checked while a sync imports, and when the sync ends a few blocks short of
// a tip that moved meanwhile, the honest peers' claims (unbacked since before the sync) must get
// their backing time counted from then, not be struck at the next heartbeat. Found by a helper
// reading the sync as an attacker would.
import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { syncPair } from "../../helpers/syncPair.ts";
import { waitFor } from "../../helpers/net.ts";
import { extend } from "../../helpers/fixtures.ts";
import type { SyncerOptions } from "../../../src/sync/syncer.ts";

const HEIGHT = 40;
// Claims are struck 5 s unbacked; the first sync takes about 6 s (150 ms an import), and the first
// block after it 1.5 s to import, so the check runs while the joiner is still short of the new tip.
const sync: Partial<SyncerOptions> = { chunk: 10, claimBackingMs: 5000, requestTimeoutMs: 3000 };

test("after a long sync that ends short of a moving tip, the honest peers' claims are not struck", async () => {
  const pair = await syncPair(HEIGHT, sync, { servers: 2 });
  const { servers, joiner: c, keys } = pair;
  try {
    const importBlock = c.chain.importBlock.bind(c.chain);
    c.chain.importBlock = async (block, from) => {
      if (from?.sync || block.header.height > HEIGHT) await sleep(block.header.height > HEIGHT ? 1500 : 150);
      return importBlock(block, from);
    };
    for (const s of servers) c.p2p.addTarget(`ws://127.0.0.1:${s.p2p.port}`);
    await waitFor(() => c.chain.head.height >= 5, 20_000, "the sync under way");
    // The tip moves on both servers (the same two blocks) while the joiner syncs toward the old one.
    const blocks = await extend(servers[0]!.chain, keys, 2);
    for (const b of blocks) assert.equal((await servers[1]!.chain.importBlock(b)).status, "imported");
    await waitFor(() => c.chain.head.height === HEIGHT + 2, 60_000, `caught up (at ${c.chain.head.height} of ${HEIGHT + 2})`);
    for (const s of servers) {
      const peer = c.p2p.readyPeers().find((p) => p.ebid === s.key.ebid);
      assert.ok(peer, "the honest peer is still connected");
      assert.equal(peer.strikes, 0, "no strike for a claim that aged while the joiner was importing");
    }
  } finally {
    await pair.close();
  }
});
