// A sync source that drips a chunk, over real WebSockets and LevelDB (docs/protocol.md §9.6): it
// serves the real chain, but every range reply holds one block and says `has_more`, and comes just
// inside the request timeout. A reply is cut only when its next block would pass the 2 MiB cap, so
// the second reply shows the first was cut early: the source is struck and the chunk is taken from
// it. Without that check it held each chunk for chunk × (almost) the request timeout. An honest
// server that joins then serves the whole chain: the chunk was not lost.
import { test } from "node:test";
import assert from "node:assert/strict";
import { syncPair } from "../../helpers/syncPair.ts";
import { waitFor } from "../../helpers/net.ts";
import { freshKey, handshake, sleep } from "../p2p/attackKit.ts";
import { handleSyncRequest } from "../../../src/sync/protocol.ts";
import type { SyncerOptions } from "../../../src/sync/syncer.ts";

const HEIGHT = 30;
const TIMEOUT_MS = 1000;
const sync: Partial<SyncerOptions> = { chunk: 10, requestTimeoutMs: TIMEOUT_MS };

test("a source whose range replies are cut before the byte cap is struck at its second reply, and the chain still syncs", async () => {
  const pair = await syncPair(HEIGHT, sync);
  const { server: a, joiner: c, spec } = pair;
  try {
    const key = freshKey();
    const drip = await handshake(`ws://127.0.0.1:${c.p2p.port}`, key, c.key.ebid, {
      chainId: spec.chain_id,
      genesis: c.chain.genesis.hash,
      hello: { height: HEIGHT, tip_hash: a.chain.head.hash },
    });
    // Replies per chunk (chunks of 10 from height 1): the first, and the continuations of a cut one.
    const perChunk = new Map<number, number>();
    drip.ws.on("message", (d) => {
      for (const line of d.toString().split("\n")) {
        if (!line.includes('"req"')) continue;
        const req = JSON.parse(line) as { id: number; path: string; data: unknown };
        const answer = (res: object) => drip.ws.readyState === drip.ws.OPEN && drip.send({ type: "res", id: req.id, ...res });
        void handleSyncRequest(a.chain, req.path, req.data).then(async (res) => {
          const data = res.data as { blocks?: { header: { height: number } }[] } | null;
          if (res.ok && data?.blocks && data.blocks.length > 1) {
            // One block, "cut", just inside the timeout.
            const from = data.blocks[0]!.header.height;
            perChunk.set(Math.floor((from - 1) / 10), (perChunk.get(Math.floor((from - 1) / 10)) ?? 0) + 1);
            await sleep(TIMEOUT_MS * 0.7);
            return answer({ ...res, data: { ...data, blocks: data.blocks.slice(0, 1), count: 1, to_index: data.blocks[0]!.header.height, has_more: true } });
          }
          answer(res);
        });
      }
    });
    const peer = () => c.p2p.allPeers().find((p) => p.ebid === key.ebid);
    await waitFor(() => !peer() || peer()!.strikes > 0, 10 * TIMEOUT_MS, "the dripping source struck");
    const most = Math.max(...perChunk.values());
    console.log(`# struck; replies per chunk ${JSON.stringify([...perChunk])}; joiner at height ${c.chain.head.height}`);
    assert.ok(most <= 2, `the source dripped ${most} replies of one chunk before it was struck`);
    assert.ok(c.chain.head.height <= 2, `it imported ${c.chain.head.height} blocks of one-block replies`);
    // The honest server joins: the chunk the source held is asked of it, whole.
    c.p2p.addTarget(`ws://127.0.0.1:${a.p2p.port}`);
    await waitFor(() => c.chain.head.height === HEIGHT, 20_000, `synced from the honest server (at ${c.chain.head.height})`);
    assert.equal(c.chain.head.hash, a.chain.head.hash);
    drip.ws.terminate();
  } finally {
    await pair.close();
  }
});
