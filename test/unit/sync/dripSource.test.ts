// A sync source that drips a chunk, over real WebSockets and LevelDB (docs/protocol.md §9.6): it
// serves the real chain, but every range reply holds one block and says `has_more`, and comes late
// (within the request timeout). A reply is cut only when its next block would pass the 2 MiB cap, so
// the second reply shows the first was cut early, and the chunk is asked of another peer. Without
// that check the source held each chunk it was given for chunk × (almost) the request timeout.
import { test } from "node:test";
import assert from "node:assert/strict";
import { syncPair } from "../../helpers/syncPair.ts";
import { waitFor } from "../../helpers/net.ts";
import { freshKey, handshake, sleep } from "../p2p/attackKit.ts";
import { handleSyncRequest } from "../../../src/sync/protocol.ts";
import type { SyncerOptions } from "../../../src/sync/syncer.ts";

const HEIGHT = 30;
const TIMEOUT_MS = 2000;
const CHUNK = 10;
const sync: Partial<SyncerOptions> = { chunk: CHUNK, requestTimeoutMs: TIMEOUT_MS };

for (const pad of [0, 1_100_000]) {
  test(`a chunk whose replies are cut before the byte cap moves to another peer at the second reply${pad ? " (each block padded past the cap with a field the schema drops)" : ""}`, () => dripCase(pad));
}

async function dripCase(pad: number): Promise<void> {
  const pair = await syncPair(HEIGHT, sync);
  const { server: a, joiner: c, spec } = pair;
  try {
    const key = freshKey();
    const drip = await handshake(`ws://127.0.0.1:${c.p2p.port}`, key, c.key.ebid, {
      chainId: spec.chain_id,
      genesis: c.chain.genesis.hash,
      hello: { height: HEIGHT, tip_hash: a.chain.head.hash },
    });
    // Replies per chunk (chunks from height 1): the first, and the continuations of a cut one.
    const perChunk = new Map<number, number>();
    drip.ws.on("message", (d) => {
      for (const line of d.toString().split("\n")) {
        if (!line.includes('"req"')) continue;
        const req = JSON.parse(line) as { id: number; path: string; data: unknown };
        const answer = (res: object) => drip.ws.readyState === drip.ws.OPEN && drip.send({ type: "res", id: req.id, ...res });
        void handleSyncRequest(a.chain, req.path, req.data).then(async (res) => {
          const data = res.data as { blocks?: { header: { height: number } }[] } | null;
          if (res.ok && data?.blocks && data.blocks.length > 1) {
            // One block, "cut", late.
            const chunk = Math.floor((data.blocks[0]!.header.height - 1) / CHUNK);
            perChunk.set(chunk, (perChunk.get(chunk) ?? 0) + 1);
            await sleep(TIMEOUT_MS * 0.3);
            const block = pad ? { ...data.blocks[0]!, padding: "x".repeat(pad) } : data.blocks[0]!;
            return answer({ ...res, data: { ...data, blocks: [block], count: 1, to_index: block.header.height, has_more: true } });
          }
          answer(res);
        }, () => undefined); // the test's end closes the chain under a late request
      }
    });
    // The drip is the only peer: it has answered twice for a chunk, and gets no third request
    // (before the check, a third came with the second reply, 0.6 s after the second request).
    await waitFor(() => [...perChunk.values()].some((n) => n >= 2), 10 * TIMEOUT_MS, "two replies of a chunk from the dripping source");
    await sleep(0.75 * TIMEOUT_MS);
    const most = Math.max(...perChunk.values());
    console.log(`# replies per chunk from the dripping source ${JSON.stringify([...perChunk])}`);
    assert.ok(most <= 2, `the source dripped ${most} replies of one chunk before the chunk moved on`);
    // The honest server joins and serves the chunks the source held: nothing was lost.
    c.p2p.addTarget(`ws://127.0.0.1:${a.p2p.port}`);
    await waitFor(() => c.chain.head.height === HEIGHT, 30 * TIMEOUT_MS, `synced (at ${c.chain.head.height})`);
    assert.equal(c.chain.head.hash, a.chain.head.hash);
    drip.ws.terminate();
  } finally {
    await pair.close();
  }
}
