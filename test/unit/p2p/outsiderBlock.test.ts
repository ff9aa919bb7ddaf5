// Outsiders (docs/protocol.md §6.4, §9.4): on a chain with active validators, a fallback block from
// a key that is no validator is refused WRONG_PRODUCER and the peer that sent it over a real
// WebSocket gets a strike; on a chain with no validator, the same kind of block imports. A node on
// real LevelDB, a hostile peer with a fresh key.
import { test } from "node:test";
import assert from "node:assert/strict";
import { VisionNode } from "../../../src/node/node.ts";
import { draftHeader, sealBlock } from "../../../src/producer/blockBuilder.ts";
import { headerMeetsPow } from "../../../src/consensus/hashing.ts";
import { slotOpensAt } from "../../../src/consensus/timing.ts";
import type { Block } from "../../../src/consensus/types.ts";
import { makeKeys, makeSpec, previewRoots, revealFor, silentLog, tempDir, type TestKey } from "../../helpers/fixtures.ts";
import { handshakeClient, waitFor } from "../../helpers/net.ts";
import { freshKey } from "./attackKit.ts";
import type { ChainSpec } from "../../../src/chain/spec.ts";

async function fallbackOnGenesis(node: VisionNode, key: TestKey): Promise<Block> {
  const chain = node.chain;
  const parent = chain.head;
  const s = await chain.scheduleFor(parent);
  const { stateRoot, validatorsRoot, finalityRoot } = await previewRoots(chain, parent, key.ebid, []);
  let h = draftHeader({
    parent, producer: key.ebid, slot: null, timestamp: slotOpensAt(parent.timestamp, s.winners.length, chain.spec.params), attestations: [],
    difficulty: chain.spec.params.fallback_difficulty, stateRoot, validatorsRoot, finalityRoot, randaoReveal: revealFor(chain, s, key),
  });
  while (!headerMeetsPow(h)) h = { ...h, nonce: h.nonce + 1 };
  return sealBlock(h, { attestations: [] }, key.secretKey, chain.genesis.hash);
}

async function withNode(spec: ChainSpec, run: (node: VisionNode) => Promise<void>): Promise<void> {
  const dir = tempDir();
  const node = await VisionNode.init(
    { dataDir: dir.dir, spec, p2p: { host: "127.0.0.1", port: 0, peers: [] }, apiHost: "127.0.0.1", apiPort: 0, produce: false, mine: false, sync: {} },
    silentLog,
  );
  try {
    await run(node);
  } finally {
    await node.close();
    dir.cleanup();
  }
}

const params = { block_time_ms: 2000, fallback_difficulty: 1 };

test("an outsider's fallback block on a chain with validators: WRONG_PRODUCER, a strike for its sender, the head unmoved", async () => {
  await withNode(makeSpec(makeKeys(3), { params }), async (node) => {
    const outsider = freshKey();
    const c = await handshakeClient(`ws://127.0.0.1:${node.p2p.port}`, outsider, node.chain.spec.chain_id, node.chain.genesis.hash, node.key.ebid);
    await waitFor(() => node.p2p.readyPeers().length === 1, 3000, "the outsider connected");
    const peer = node.p2p.readyPeers()[0]!;
    const block = await fallbackOnGenesis(node, outsider);
    await assert.rejects(node.chain.importBlock(block), (e: Error & { code?: string }) => e.code === "WRONG_PRODUCER");
    c.ws.send(JSON.stringify({ type: "block", block }) + "\n");
    await waitFor(() => peer.strikes === 1, 3000, "a strike for the sender");
    assert.equal(node.chain.head.height, 0);
    c.ws.terminate();
  });
});

test("on a chain with no validator, anyone's fallback block sent over P2P imports, with no strike", async () => {
  await withNode(makeSpec([], { params }), async (node) => {
    const anyone = freshKey();
    const c = await handshakeClient(`ws://127.0.0.1:${node.p2p.port}`, anyone, node.chain.spec.chain_id, node.chain.genesis.hash, node.key.ebid);
    await waitFor(() => node.p2p.readyPeers().length === 1, 3000, "the peer connected");
    const peer = node.p2p.readyPeers()[0]!;
    const block = await fallbackOnGenesis(node, anyone);
    c.ws.send(JSON.stringify({ type: "block", block }) + "\n");
    await waitFor(() => node.chain.head.height === 1, 3000, "the block imported");
    assert.equal(node.chain.head.hash, block.hash);
    assert.equal(peer.strikes, 0);
    c.ws.terminate();
  });
});
