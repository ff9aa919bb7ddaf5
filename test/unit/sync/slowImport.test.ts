// A joining node whose imports are slow (a loaded machine, full blocks) over real WebSockets and
// LevelDB (docs/protocol.md §6.1, §9.6): the honest peer it syncs from is never struck for an
// unbacked claim while its blocks keep importing, even when one chunk takes longer to import than
// the claim backing timeout and the request timeout together.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { syncPair } from "../../helpers/syncPair.ts";
import { waitFor } from "../../helpers/net.ts";
import type { SyncerOptions } from "../../../src/sync/syncer.ts";

const HEIGHT = 80;
// One chunk of 40 blocks at 40 ms each: 1.6 s of importing, past both timeouts below.
const sync: Partial<SyncerOptions> = { chunk: 40, claimBackingMs: 300, requestTimeoutMs: 1000 };
let pair: Awaited<ReturnType<typeof syncPair>>;

before(async () => {
  pair = await syncPair(HEIGHT, sync);
});

after(() => pair.close());

test("the peer a slow sync imports from is not struck for its claim while its blocks import", async () => {
  // The collaborator slowed: every import waits 40 ms first, as on a busy 2-core machine.
  const { server: a, joiner: c } = pair;
  const importBlock = c.chain.importBlock.bind(c.chain);
  c.chain.importBlock = async (block, from) => {
    await sleep(40);
    return importBlock(block, from);
  };
  c.p2p.addTarget(`ws://127.0.0.1:${a.p2p.port}`);
  await waitFor(() => c.chain.head.height === HEIGHT, 30_000, `caught up (at ${c.chain.head.height} of ${HEIGHT})`);
  const peer = c.p2p.readyPeers().find((p) => p.ebid === a.key.ebid);
  assert.ok(peer, "the honest peer is still connected");
  assert.equal(peer.strikes, 0, "no strike for a claim its own blocks were backing");
  assert.equal(peer.claimsIgnored, false);
  assert.equal(c.chain.head.hash, a.chain.head.hash);
});
