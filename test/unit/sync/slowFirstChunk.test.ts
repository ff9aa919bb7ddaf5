// A joining node whose first chunk is slow to arrive and import (full blocks on a loaded machine)
// over real WebSockets and LevelDB (docs/protocol.md §6.1): the honest peer it began syncing from
// is not struck for an unbacked claim before the first of its blocks imports, when that takes
// longer than the claim backing timeout but less than the request timeout. Found in CI: a node
// joining a chain of 150 full blocks struck its only peer.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { syncPair } from "../../helpers/syncPair.ts";
import { waitFor } from "../../helpers/net.ts";
import type { SyncerOptions } from "../../../src/sync/syncer.ts";

const HEIGHT = 40;
// The first import waits 1.2 s: past the claim backing timeout (300 ms), within the request timeout (2 s).
const sync: Partial<SyncerOptions> = { chunk: 20, claimBackingMs: 300, requestTimeoutMs: 2000 };
const pair = await syncPair(HEIGHT, sync);
after(() => pair.close());

test("the peer a sync began fetching from is not struck for its claim while its first chunk is slow", async () => {
  const { server: a, joiner: c } = pair;
  const importBlock = c.chain.importBlock.bind(c.chain);
  let first = true;
  c.chain.importBlock = async (block, from) => {
    if (first) {
      first = false;
      await sleep(1200);
    }
    return importBlock(block, from);
  };
  c.p2p.addTarget(`ws://127.0.0.1:${a.p2p.port}`);
  await waitFor(() => c.chain.head.height === HEIGHT, 30_000, `caught up (at ${c.chain.head.height} of ${HEIGHT})`);
  const peer = c.p2p.readyPeers().find((p) => p.ebid === a.key.ebid);
  assert.ok(peer, "the honest peer is still connected");
  assert.equal(peer.strikes, 0, "no strike for a claim its own first chunk was backing");
  assert.equal(peer.claimsIgnored, false);
});
