// A joining node among liars, over real WebSockets and LevelDB (docs/protocol.md §9.6): peers that
// claim a height 1,000 above the tip and never serve (half refuse every request, half never answer,
// each back with a fresh key every 2 s so its claim is never old enough to be struck) must not make
// the chunks of an honest sync fail. Chunks are spread over every peer that claims their heights;
// a peer that failed a request of this sync is not asked for another chunk of it, and a chunk that
// failed elsewhere goes back to the peer the sync targets.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { VisionNode } from "../../../src/node/node.ts";
import type { ChainSpec } from "../../../src/chain/spec.ts";
import { syncPair } from "../../helpers/syncPair.ts";
import { waitFor } from "../../helpers/net.ts";
import { runLiars } from "../../../src/drill/liars.ts";
import type { SyncerOptions } from "../../../src/sync/syncer.ts";

const HEIGHT = 60;
// Small chunks so the sync has many; a short request timeout so the silent liars cost little.
const sync: Partial<SyncerOptions> = { chunk: 5, requestTimeoutMs: 1000 };
let pair: Awaited<ReturnType<typeof syncPair>>;
let a: VisionNode;
let c: VisionNode;
let spec: ChainSpec;

before(async () => {
  pair = await syncPair(HEIGHT, sync);
  ({ server: a, joiner: c, spec } = pair);
});

after(() => pair.close());

test("liars that never serve do not stop a joining node's sync from its honest peer", async () => {
  const liars = runLiars(
    { url: `ws://127.0.0.1:${c.p2p.port}`, chainId: spec.chain_id, genesisHash: c.chain.genesis.hash, ebid: c.key.ebid, tipHeight: () => c.chain.head.height },
    4,
    { reconnectMs: 2000 },
  );
  try {
    await waitFor(() => c.p2p.readyPeers().length === 4, 5000, "four liars ready");
    c.p2p.addTarget(`ws://127.0.0.1:${a.p2p.port}`);
    const started = Date.now();
    // While it imports, the peer whose claim counts (§6.1: the one the sync imports from) is the
    // honest one, never a liar the sync was aimed at.
    const counted = new Set<string>();
    const watch = setInterval(() => {
      const s = c.syncer.serving;
      if (s?.ebid) counted.add(s.ebid === a.key.ebid ? "honest" : "liar");
    }, 5);
    await waitFor(() => c.chain.head.height === HEIGHT, 15_000, `caught up from the honest peer (at ${c.chain.head.height} of ${HEIGHT})`).finally(() => clearInterval(watch));
    assert.deepEqual([...counted], ["honest"], "the claim counted while importing");
    assert.equal(c.chain.head.hash, a.chain.head.hash);
    const ms = Date.now() - started;
    assert.ok(ms < 15_000, `${ms} ms`);
  } finally {
    await liars.stop();
  }
});
