// Private branch (docs/protocol.md §5, §7): one validator builds a branch of its own, every block by
// its key, carrying no one else's attestations, and offers it to two honest nodes (VisionNodes on
// real LevelDB, the second synced from the first) over real P2P connections. Forking below their
// finalized checkpoint, the branch's first block is refused with FINALITY_CONFLICT and its sender
// struck, however heavy the branch; forking above the justified checkpoint, a heavier branch still
// wins (fork choice by weight there); and above the finalized checkpoint the pool's finality floor
// keeps every validator that was live there, so the attacker cannot own every slot 0 of its branch.
import { test } from "node:test";
import assert from "node:assert/strict";
import { VisionNode } from "../../../src/node/node.ts";
import { BlockError } from "../../../src/chain/errors.ts";
import type { Chain } from "../../../src/chain/chain.ts";
import type { Block } from "../../../src/consensus/types.ts";
import type { BlockMeta } from "../../../src/storage/records.ts";
import { attestOn, blockFor, makeKeys, makeSpec, openTestChain, silentLog, tempDir } from "../../helpers/fixtures.ts";
import { handshakeClient, waitFor } from "../../helpers/net.ts";
import { freshKey } from "../../helpers/junk.ts";

const keys = makeKeys(4);
const attacker = keys[0]!;
const spec = makeSpec(keys, { params: { block_time_ms: 2000, epoch_length: 8, pool_window: 8 } });
const I = spec.params.checkpoint_interval;
const L = spec.params.epoch_length;

// An honest block on `parent`: the primary's, with every validator's attestation of the parent.
async function honestChild(chain: Chain, parent: BlockMeta): Promise<Block> {
  const attestations = parent.height === 0 ? [] : await Promise.all(keys.map((k) => attestOn(chain, k, parent.height, parent.hash)));
  return blockFor(chain, parent, keys, 0, { attestations });
}

// The attacker's block on `parent`: its own key in the slot it holds, no attestations; imported into
// the attacker's own store.
async function privateChild(chain: Chain, parent: BlockMeta): Promise<{ block: Block; meta: BlockMeta }> {
  const slot = (await chain.scheduleFor(parent)).winners.indexOf(attacker.ebid);
  assert.ok(slot >= 0, `the attacker holds a slot at ${parent.height + 1}`);
  const block = await blockFor(chain, parent, keys, slot);
  assert.equal((await chain.importBlock(block)).status, "imported");
  return { block, meta: (await chain.getMeta(block.hash))! };
}

test("Private branch: forking below the finalized checkpoint it is refused (FINALITY_CONFLICT, a strike) however heavy; forking above the justified checkpoint a heavier one wins; the finality floor keeps the others in its pool", async () => {
  const dir = tempDir();
  const node = await VisionNode.init(
    { dataDir: dir.dir, spec, p2p: { host: "127.0.0.1", port: 0, peers: [] }, apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false, sync: {} },
    silentLog,
  );
  const below = await openTestChain(spec);
  const above = await openTestChain(spec);
  const dir2 = tempDir();
  let node2: VisionNode | undefined;
  try {
    const chain = node.chain;
    // The honest chain: 4 validators, every one attesting, past cp(2) finalized and cp(3) justified.
    const honest: Block[] = [];
    while (chain.head.height < 3 * I + 2) {
      const b = await honestChild(chain, chain.head);
      assert.equal((await chain.importBlock(b)).status, "imported");
      honest.push(b);
    }
    assert.equal(chain.finalizedCheckpoint.height, 2 * I);
    assert.equal(chain.justifiedCheckpoint.height, 3 * I);
    const honestHead = chain.head;
    // A second honest node syncs the honest chain from the first over P2P.
    node2 = await VisionNode.init(
      { dataDir: dir2.dir, spec, p2p: { host: "127.0.0.1", port: 0, peers: [`ws://127.0.0.1:${node.p2p.port}`] }, apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false, sync: {} },
      silentLog,
    );
    const n2 = node2;
    await waitFor(() => n2.chain.head.hash === honestHead.hash, 10_000, "the second node synced");
    assert.equal(n2.chain.finalizedCheckpoint.height, 2 * I);

    const c = await handshakeClient(`ws://127.0.0.1:${node.p2p.port}`, freshKey(), spec.chain_id, chain.genesis.hash, node.key.ebid);
    await waitFor(() => node.p2p.readyPeers().length === 2, 3000, "the attacker's connection");
    const peer = node.p2p.readyPeers().find((p) => p.ebid !== n2.key.ebid)!;
    const send = (block: Block) => c.ws.send(JSON.stringify({ type: "block", block }) + "\n");
    const c2 = await handshakeClient(`ws://127.0.0.1:${n2.p2p.port}`, freshKey(), spec.chain_id, chain.genesis.hash, n2.key.ebid);
    await waitFor(() => n2.p2p.readyPeers().length === 2, 3000, "the attacker's connection to the second node");
    const peer2 = n2.p2p.readyPeers().find((p) => p.ebid !== node.key.ebid)!;

    // 1. Below the finalized checkpoint: the attacker's store holds the honest chain up to the fork
    // point; its branch outweighs the honest head.
    const fork = 2 * I - 2;
    for (const b of honest.slice(0, fork)) await below.chain.importBlock(b);
    let tip = below.chain.head;
    const branch: Block[] = [];
    while (BigInt(tip.total_weight) <= BigInt(honestHead.total_weight)) {
      const next = await privateChild(below.chain, tip);
      branch.push(next.block);
      tip = next.meta;
    }
    assert.ok(tip.height > honestHead.height && BigInt(tip.total_weight) > BigInt(honestHead.total_weight), "a heavier private branch");
    send(branch[0]!);
    c2.ws.send(JSON.stringify({ type: "block", block: branch[0]! }) + "\n");
    await waitFor(() => peer.strikes === 1, 5000, "a strike for the branch's first block");
    await waitFor(() => peer2.strikes === 1, 5000, "a strike at the second node too");
    await assert.rejects(n2.chain.importBlock(branch[0]!), (e: unknown) => e instanceof BlockError && e.code === "FINALITY_CONFLICT");
    assert.equal(n2.chain.head.hash, honestHead.hash);
    await assert.rejects(chain.importBlock(branch[0]!), (e: unknown) => e instanceof BlockError && e.code === "FINALITY_CONFLICT");
    // its blocks up to the finalized height are refused without their parent (the rest wait for a parent that never comes)
    for (const b of branch.filter((x) => x.header.height <= chain.finalizedCheckpoint.height)) {
      await assert.rejects(chain.importBlock(b), (e: unknown) => e instanceof BlockError && e.code === "FINALITY_CONFLICT");
    }
    assert.equal(chain.head.hash, honestHead.hash, "the honest chain stays the head");

    // 2. Above the justified checkpoint (no finality protection there): a heavier branch wins.
    const forkAbove = honest.length - 1; // the block above cp(3) + 1
    for (const b of honest.slice(0, forkAbove)) await above.chain.importBlock(b);
    assert.ok(above.chain.head.height > chain.justifiedCheckpoint.height);
    tip = above.chain.head;
    const heavier: Block[] = [];
    while (BigInt(tip.total_weight) <= BigInt(honestHead.total_weight)) {
      const next = await privateChild(above.chain, tip);
      heavier.push(next.block);
      tip = next.meta;
    }
    for (const b of heavier) send(b);
    await waitFor(() => chain.head.hash === tip.hash, 5000, "the heavier branch as the head");
    await waitFor(() => n2.chain.head.hash === tip.hash, 5000, "the heavier branch as the second node's head (relayed)");
    assert.equal(peer.strikes, 1, "no strike for valid blocks");
    assert.equal(chain.finalizedCheckpoint.height, 2 * I);

    // 3. The finality floor: the attacker goes on alone, past liveness windows. Its branch's
    // finalized checkpoint stays cp(2), and everyone live there stays in its pool, so slot 0 is
    // often someone else's (and its block there weighs 1).
    let primaries = 0;
    let blocks = 0;
    while (tip.height < honestHead.height + 4 * L + 2 * spec.params.pool_window) {
      const s = await above.chain.scheduleFor(tip);
      if (s.height > honestHead.height + 2 * L + spec.params.pool_window) {
        assert.deepEqual(s.pool, keys.map((k) => k.ebid).sort(), `pool at ${s.height}: the floor keeps the silent validators`);
        blocks++;
        if (s.winners[0] === attacker.ebid) primaries++;
      }
      tip = (await privateChild(above.chain, tip)).meta;
    }
    assert.ok(blocks > 0 && primaries < blocks, `the attacker held slot 0 at ${primaries} of ${blocks} heights past the window`);
    c.ws.terminate();
    c2.ws.terminate();
  } finally {
    await node2?.close();
    dir2.cleanup();
    await below.destroy();
    await above.destroy();
    await node.close();
    dir.cleanup();
  }
});
